"""Every URL pattern, opened with real ids from the demo clinic: each response that shows patient data leaves
exactly one audit entry, and a page without patient data leaves none. A new URL fails this test until it is
classified below."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token
from needlepoint.accounts.models import AuditEntry, Membership
from needlepoint.atlas.models import Assessment, PalpationFinding
from needlepoint.demo import build_demo
from needlepoint.fhir import bulk
from needlepoint.outcomes.actions import create_self_report_link
from needlepoint.patients.models import Consent, Episode, Patient, Screening
from needlepoint.scheduling.actions import create_calendar_feed
from needlepoint.scheduling.models import Appointment
from needlepoint.visits import needle_stick
from needlepoint.visits.models import AdverseEvent, NeedlingEntry

# What a GET of each pattern shows. PATIENT: patient data, so one read, search or export entry.
# NONE: no patient data (public pages, reference data, the user's own settings), so no entry.
# WRITE: the pattern only takes writes (a GET is refused or shows an empty form), so no entry.
# ADMIN: clinic settings, staff or the audit trail itself, opened by the clinic admin; no entry either.
PATIENT, NONE, WRITE, ADMIN = "patient", "none", "write", "admin"


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


_FHIR_TYPES = (
    "(?P<resource_type>Patient|Condition|Procedure|Observation|Consent|AdverseEvent"
    "|QuestionnaireResponse|Questionnaire|Practitioner)"
)
_FHIR_ID = "(?P<resource_id>[A-Za-z0-9\\-.]{1,64})"
FHIR_EVERYTHING = f"fhir/R4/^Patient/{_FHIR_ID}/\\$everything$"
FHIR_SEARCH = f"fhir/R4/^{_FHIR_TYPES}$"
FHIR_READ = f"fhir/R4/^{_FHIR_TYPES}/{_FHIR_ID}$"
FHIR_POST_SEARCH = f"fhir/R4/^{_FHIR_TYPES}/_search$"
FHIR_HISTORY = f"fhir/R4/^{_FHIR_TYPES}/{_FHIR_ID}/_history$"
FHIR_VREAD = f"fhir/R4/^{_FHIR_TYPES}/{_FHIR_ID}/_history/(?P<version_id>[A-Za-z0-9\\-.]{{1,64}})$"
FHIR_UNKNOWN = "^fhir/(?P<path>.*)$"
_FHIR_JOB = "(?P<job_id>[0-9a-f\\-]{36})"
FHIR_EXPORT = "fhir/R4/^\\$export$"
FHIR_EXPORT_PATIENTS = "fhir/R4/^Patient/\\$export$"
FHIR_EXPORT_GROUP = "fhir/R4/^Group/(?P<group_id>[A-Za-z0-9\\-.]{1,64})/\\$export$"
FHIR_EXPORT_STATUS = f"fhir/R4/^\\$export-status/{_FHIR_JOB}$"
FHIR_EXPORT_FILE = f"fhir/R4/^\\$export-file/{_FHIR_JOB}/(?P<file_name>[A-Za-z]+-[0-9]+\\.ndjson)$"

# Patterns with patient data that only the clinic admin may open.
ADMIN_ONLY = {"audit.csv", FHIR_EXPORT_FILE}

# Every pattern, by its route, with what a GET shows and, where it needs one, a query string.
ROUTES: dict[str, tuple[str, str]] = {
    "login/": (NONE, ""),
    "login/code/": (NONE, ""),
    "login/enrol/": (NONE, ""),
    "login/passkey/": (WRITE, ""),
    "login/passkey/options/": (WRITE, ""),
    "password-reset/<str:uidb64>/<str:token>/": (NONE, ""),
    "account/security/": (NONE, ""),
    "account/passkeys/": (WRITE, ""),
    "account/passkeys/options/": (WRITE, ""),
    "clinic/letterhead/": (ADMIN, ""),
    "logout/": (WRITE, ""),
    "session/": (NONE, ""),
    "switch-clinic/": (WRITE, ""),
    "account/tokens/": (NONE, ""),
    "fhir/R4/.well-known/smart-configuration": (NONE, ""),
    "fhir/.well-known/smart-configuration": (NONE, ""),
    "oauth/authorize/": (NONE, ""),
    "oauth/token/": (WRITE, ""),
    "oauth/revoke/": (WRITE, ""),
    ".well-known/openid-configuration": (NONE, ""),
    "oauth/jwks/": (NONE, ""),
    "oauth/userinfo/": (NONE, ""),  # the signed-in user's own identity, for an app's token; no patient data
    "clinic/apps/": (ADMIN, ""),
    "account/apps/": (NONE, ""),
    "patients/<int:patient_id>/launch-app/": (WRITE, ""),
    "audit/": (ADMIN, ""),
    "staff/": (ADMIN, ""),
    "audit.csv": (PATIENT, ""),
    "healthz": (NONE, ""),
    "favicon.ico": (NONE, ""),
    "references/": (NONE, ""),
    "patients/": (PATIENT, ""),  # recent and today's patients
    "patients/new/": (NONE, ""),
    "patients/needling-age/": (ADMIN, ""),
    "patients/<int:patient_id>/": (PATIENT, ""),
    "patients/<int:patient_id>/edit/": (PATIENT, ""),
    "patients/<int:patient_id>/received-records/": (PATIENT, ""),
    "patients/<int:patient_id>/death/": (PATIENT, ""),
    "patients/<int:patient_id>/death/withdraw/": (PATIENT, ""),
    "patients/<int:patient_id>/record-export/": (WRITE, ""),
    "patients/<int:patient_id>/screening/new/": (PATIENT, ""),
    "patients/<int:patient_id>/screening/<int:screening_id>/": (PATIENT, ""),
    "patients/<int:patient_id>/health-change/": (PATIENT, ""),
    "patients/<int:patient_id>/consent/new/": (PATIENT, ""),
    "patients/<int:patient_id>/consent/<int:consent_id>/withdraw/": (PATIENT, ""),
    "patients/<int:patient_id>/episodes/new/": (PATIENT, ""),
    "patients/<int:patient_id>/episodes/<int:episode_id>/": (PATIENT, ""),
    "api/v1/openapi.json": (NONE, ""),
    "api/v1/docs": (NONE, ""),
    "api/v1/me": (NONE, ""),
    "api/v1/audit": (ADMIN, ""),
    "api/v1/staff": (ADMIN, ""),
    "api/v1/tokens": (NONE, ""),
    "api/v1/tokens/<token_id>/revoke": (WRITE, ""),
    "api/v1/patients": (PATIENT, "?q=a"),
    "api/v1/patients/search": (WRITE, ""),  # the search by POST: a GET is refused
    "api/v1/patients/<patient_id>": (PATIENT, ""),
    "api/v1/patients/<patient_id>/needling-clearance": (PATIENT, ""),
    "api/v1/patients/<patient_id>/screenings": (PATIENT, ""),
    "api/v1/patients/<patient_id>/screenings/<screening_id>/acknowledge": (WRITE, ""),
    "api/v1/patients/<patient_id>/health-change": (WRITE, ""),
    "api/v1/patients/<patient_id>/consent-text": (PATIENT, ""),
    "api/v1/patients/<patient_id>/consents": (WRITE, ""),
    "api/v1/patients/<patient_id>/consents/<consent_id>/withdraw": (WRITE, ""),
    "api/v1/patients/<patient_id>/episodes": (PATIENT, ""),
    "api/v1/patients/<patient_id>/episodes/<episode_id>/discharge": (WRITE, ""),
    "api/v1/atlas/regions": (NONE, ""),
    "api/v1/atlas/muscles": (NONE, ""),
    "api/v1/atlas/muscles/<muscle_id>": (NONE, ""),
    "api/v1/atlas/suggest": (NONE, "?regions=temple-l"),
    "api/v1/atlas/episodes/<episode_id>/assessments": (PATIENT, ""),
    "api/v1/atlas/assessments/<assessment_id>": (PATIENT, ""),
    "api/v1/atlas/assessments/<assessment_id>/ranking": (PATIENT, ""),
    "api/v1/atlas/assessments/<assessment_id>/findings": (WRITE, ""),
    "api/v1/atlas/episodes/<episode_id>/suggested-needling": (PATIENT, ""),
    "api/v1/visits": (PATIENT, "?patient_id={patient_id}"),
    "api/v1/visits/adverse-events/open": (PATIENT, ""),
    "api/v1/visits/<visit_id>": (PATIENT, ""),
    "api/v1/visits/<visit_id>/needling": (WRITE, ""),
    "api/v1/visits/<visit_id>/needling/copy-previous": (WRITE, ""),
    "api/v1/visits/<visit_id>/needling/<entry_id>": (WRITE, ""),
    "api/v1/visits/<visit_id>/acknowledgements": (WRITE, ""),
    "api/v1/visits/<visit_id>/needle-count": (WRITE, ""),
    "api/v1/visits/<visit_id>/needle-incident": (WRITE, ""),
    "api/v1/visits/<visit_id>/sign": (WRITE, ""),
    "api/v1/visits/<visit_id>/take-over": (WRITE, ""),
    "api/v1/visits/<visit_id>/addenda": (WRITE, ""),
    "api/v1/visits/<visit_id>/adverse-events": (WRITE, ""),
    "api/v1/visits/adverse-events/<event_id>/follow-ups": (WRITE, ""),
    "api/v1/visits/<visit_id>/position": (WRITE, ""),
    "api/v1/visits/<visit_id>/clean-technique": (WRITE, ""),
    "api/v1/needle-sticks": (PATIENT, ""),
    "api/v1/needle-sticks/<incident_id>": (PATIENT, ""),
    "api/v1/needle-sticks/<incident_id>/steps": (WRITE, ""),
    "api/v1/needle-sticks/<incident_id>/close": (WRITE, ""),
    "api/v1/outcomes/instruments": (NONE, ""),
    "api/v1/outcomes/episodes/<episode_id>/observations": (PATIENT, ""),
    "api/v1/outcomes/episodes/<episode_id>/rom": (PATIENT, ""),
    "api/v1/outcomes/episodes/<episode_id>/progress": (PATIENT, ""),
    "api/v1/outcomes/episodes/<episode_id>/self-report-links": (WRITE, ""),
    "api/v1/outcomes/plans": (NONE, ""),
    "api/v1/outcomes/plans/<condition>": (NONE, ""),
    "api/v1/outcomes/instruments/<code>/wording": (NONE, ""),
    "api/v1/insights/claims": (PATIENT, ""),
    "api/v1/insights/responders": (PATIENT, "?instrument=ODI&rule=mcid&missing=itt"),
    "api/v1/scheduling/appointments": (PATIENT, "?day={day}"),
    "api/v1/scheduling/appointments/<appointment_id>": (PATIENT, ""),
    "api/v1/scheduling/appointments/<appointment_id>/status": (WRITE, ""),
    "api/v1/scheduling/appointments/<appointment_id>/start-visit": (WRITE, ""),
    "api/v1/scheduling/appointments/<appointment_id>/reminder": (WRITE, ""),
    "api/v1/scheduling/patients/<patient_id>/contact-preference": (PATIENT, ""),
    "api/v1/": (NONE, ""),
    "fhir/R4": (NONE, ""),
    "fhir/R4/^$": (NONE, ""),
    "fhir/R4/^metadata$": (NONE, ""),
    FHIR_EVERYTHING: (PATIENT, ""),
    FHIR_SEARCH: (
        PATIENT,
        "?patient={patient_id}",
    ),
    FHIR_READ: (
        PATIENT,
        "",
    ),
    FHIR_POST_SEARCH: (WRITE, ""),  # POST only: a GET is refused
    FHIR_HISTORY: (PATIENT, ""),
    FHIR_VREAD: (PATIENT, ""),
    # Bulk export: a kick-off without Prefer: respond-async is refused; the status is the manifest (addresses and
    # counts); a file is patient data, for the clinic admin only.
    FHIR_EXPORT: (ADMIN, ""),
    FHIR_EXPORT_PATIENTS: (ADMIN, ""),
    FHIR_EXPORT_GROUP: (ADMIN, ""),
    FHIR_EXPORT_STATUS: (ADMIN, ""),
    FHIR_EXPORT_FILE: (PATIENT, ""),
    FHIR_UNKNOWN: (NONE, ""),  # any other /fhir/ address: an OperationOutcome, no data read
    "": (PATIENT, ""),
    "episodes/<int:episode_id>/visits/new/": (PATIENT, ""),
    "visits/<int:visit_id>/": (PATIENT, ""),
    "visits/<int:visit_id>/details/": (WRITE, ""),
    "visits/<int:visit_id>/draft/": (WRITE, ""),
    "visits/<int:visit_id>/take-over/": (WRITE, ""),
    "visits/<int:visit_id>/needling/": (WRITE, ""),
    "visits/<int:visit_id>/needling/copy/": (WRITE, ""),
    "visits/<int:visit_id>/needling/<int:entry_id>/remove/": (WRITE, ""),
    "visits/<int:visit_id>/acknowledge/": (WRITE, ""),
    "visits/<int:visit_id>/needle-counts/": (WRITE, ""),
    "visits/<int:visit_id>/needle-incident/": (WRITE, ""),
    "visits/<int:visit_id>/sign/": (WRITE, ""),
    "visits/<int:visit_id>/after-care/": (PATIENT, ""),
    "visits/<int:visit_id>/note/": (PATIENT, ""),
    "visits/<int:visit_id>/note.pdf": (PATIENT, ""),
    "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/referral-letter/": (PATIENT, ""),
    "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/referral-letter.pdf": (PATIENT, ""),
    "visits/<int:visit_id>/addenda/": (PATIENT, ""),
    "visits/<int:visit_id>/adverse-events/new/": (PATIENT, ""),
    "adverse-events/": (PATIENT, ""),
    "visits/unsigned/": (PATIENT, ""),
    "adverse-events/<int:event_id>/": (PATIENT, ""),
    "visits/<int:visit_id>/position/": (WRITE, ""),
    "visits/<int:visit_id>/clean-technique/": (WRITE, ""),
    "needle-sticks/": (PATIENT, ""),
    "needle-sticks/new/": (NONE, ""),
    "needle-sticks/<int:incident_id>/": (PATIENT, ""),
    "atlas/": (NONE, ""),
    "atlas/muscles/<slug:muscle_id>/": (NONE, ""),
    "atlas/episodes/<int:episode_id>/assessments/new/": (PATIENT, ""),
    "atlas/episodes/<int:episode_id>/ranking/": (WRITE, ""),
    "atlas/assessments/<int:assessment_id>/": (PATIENT, ""),
    "atlas/assessments/<int:assessment_id>/ranking/": (WRITE, ""),
    "atlas/assessments/<int:assessment_id>/print/": (PATIENT, ""),
    "atlas/assessments/<int:assessment_id>/findings/": (WRITE, ""),
    "atlas/assessments/<int:assessment_id>/findings/<int:finding_id>/remove/": (WRITE, ""),
    "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/": (PATIENT, ""),
    "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/report.pdf": (PATIENT, ""),
    "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/record/rom/": (PATIENT, ""),
    "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/diary-link/": (WRITE, ""),
    "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/record/<str:code>/": (PATIENT, ""),
    "patients/<int:patient_id>/self-report-link/": (PATIENT, ""),
    "patients/<int:patient_id>/self-report-links/<int:link_id>/cancel/": (WRITE, ""),
    "patients/<int:patient_id>/self-report-links/<int:link_id>/resend/": (WRITE, ""),
    "visits/<int:visit_id>/after-care/send/": (WRITE, ""),
    "outcomes/reassessments-overdue/": (PATIENT, ""),
    "outcomes/instruments/": (ADMIN, ""),
    "outcomes/instruments/<str:code>/wording/": (ADMIN, ""),
    "p/<str:token>/": (PATIENT, ""),
    "r/<str:token>": (PATIENT, ""),
    "about-dry-needling/": (NONE, ""),
    "insights/": (PATIENT, ""),
    "insights/claims.pdf": (PATIENT, ""),
    "insights/clinicians/": (PATIENT, ""),
    "schedule/": (PATIENT, ""),
    "schedule/clinicians/<int:clinician_id>/": (PATIENT, ""),
    "schedule/book/": (NONE, ""),
    "schedule/patients/<int:patient_id>/reminders/": (PATIENT, ""),
    "schedule/calendar-feed/": (NONE, ""),
    "appointments/<int:appointment_id>/": (PATIENT, ""),
    "appointments/<int:appointment_id>/status/": (WRITE, ""),
    "appointments/<int:appointment_id>/start-visit/": (WRITE, ""),
    "appointments/<int:appointment_id>/reminder/": (WRITE, ""),
    "calendar-feed/<str:token>.ics": (PATIENT, ""),
}

# The regular-expression patterns (FHIR) opened at these addresses.
REGEX_ADDRESSES = {
    "fhir/R4/^$": "fhir/R4/",
    "fhir/R4/^metadata$": "fhir/R4/metadata",
    FHIR_POST_SEARCH: "fhir/R4/Patient/_search",
    FHIR_UNKNOWN: "fhir/R4/Organization/1",
    FHIR_EXPORT: "fhir/R4/$export",
    FHIR_EXPORT_PATIENTS: "fhir/R4/Patient/$export",
    FHIR_EXPORT_GROUP: "fhir/R4/Group/condition-neck-pain/$export",
}


@pytest.fixture
def demo(db, settings, tmp_path):
    """The demo clinic, and one record of every kind that the URL patterns name."""
    context = build_demo(patients=8, seed=2)
    clinic = context.clinic
    clinician = Membership.objects.get(clinic=clinic, user__username="pt")
    admin = Membership.objects.get(clinic=clinic, user__username="admin")
    entry = NeedlingEntry.objects.filter(clinic=clinic, visit__signed_at__isnull=False).first()
    visit = entry.visit
    patient = Patient.objects.get(pk=visit.patient_id)
    assessment = Assessment.objects.filter(clinic=clinic, findings__isnull=False).first()
    _, feed_token = create_calendar_feed(clinician)
    # The demo clinic has entered no licensed wording: the link carries what ships (pain, drawing).
    link = create_self_report_link(clinician, visit.episode, readable_only=True)
    now = timezone.now()
    incident = needle_stick.record_needle_stick(
        clinician,
        {
            "occurred_at": now - timedelta(minutes=30),
            "description": "Stuck while opening a new needle pack.",
            "source_kind": "patient",
            "source_visit_id": visit.pk,
            "source_consent": "consented",
            "wound_washed_at": now - timedelta(minutes=29),
            "follow_up_due": timezone.localdate() + timedelta(days=7),
        },
    )
    api_token, raw = create_api_token(clinician, "walk")
    appointment = Appointment.objects.filter(clinic=clinic).first()
    settings.DATA_DIR = tmp_path
    export = bulk.kick_off(admin, "system", bulk.ExportRequest(("Patient",), None), "walk")
    bulk.work(once=True, say=lambda _: None)
    ids = {
        "patient_id": patient.pk,
        "screening_id": Screening.objects.filter(patient=patient).first().pk,
        "consent_id": Consent.objects.filter(patient=patient).first().pk,
        "episode_id": visit.episode_id,
        "visit_id": visit.pk,
        "entry_id": entry.pk,
        "event_id": AdverseEvent.objects.filter(clinic=clinic).first().pk,
        "incident_id": incident.pk,
        "assessment_id": assessment.pk,
        "finding_id": PalpationFinding.objects.filter(assessment=assessment).first().pk,
        "muscle_id": entry.muscle_id,
        "code": "NDI",
        "condition": Episode.objects.get(pk=visit.episode_id).condition,
        "clinician_id": clinician.pk,
        "appointment_id": appointment.pk,
        "day": timezone.localtime(appointment.starts_at).date().isoformat(),
        "token_id": api_token.pk,
        "token": link.token,
        "link_id": link.link.pk,
        "uidb64": "MQ",  # a password link's address; an unknown or spent link answers with a page, no patient data
    }
    regex = {
        FHIR_EVERYTHING: f"fhir/R4/Patient/{patient.pk}/$everything",
        FHIR_SEARCH: f"fhir/R4/Procedure?patient={patient.pk}",
        FHIR_READ: f"fhir/R4/Patient/{patient.pk}",
        FHIR_HISTORY: f"fhir/R4/Patient/{patient.pk}/_history",
        FHIR_VREAD: f"fhir/R4/Patient/{patient.pk}/_history/{patient.version}",
        FHIR_EXPORT_STATUS: f"fhir/R4/$export-status/{export.pk}",
        FHIR_EXPORT_FILE: f"fhir/R4/$export-file/{export.pk}/Patient-1.ndjson",
    }
    return {
        "clinician": clinician,
        "admin": admin,
        "ids": ids,
        "regex": regex,
        "feed": feed_token,
        "api": raw,
        "short": link.short,
    }


def address(route: str, demo) -> str:
    """The route with real ids in place of its parameters."""
    if route in REGEX_ADDRESSES:
        return "/" + REGEX_ADDRESSES[route]
    if route in demo["regex"]:
        return "/" + demo["regex"][route]
    if route == "calendar-feed/<str:token>.ics":
        return f"/calendar-feed/{demo['feed']}.ics"
    if route == "r/<str:token>":
        return f"/r/{demo['short']}"
    filled = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(demo["ids"][m.group(1)]), route)
    return "/" + filled + ROUTES[route][1].format(**demo["ids"])


def test_every_url_pattern_is_classified() -> None:
    routes = set(walk(get_resolver().url_patterns))

    assert routes - set(ROUTES) == set(), "classify the new URL patterns in ROUTES"
    assert set(ROUTES) - routes == set(), "remove patterns that no longer exist from ROUTES"


def test_each_response_with_patient_data_leaves_exactly_one_entry(demo) -> None:
    clinician, admin = demo["clinician"], demo["admin"]
    pages, admin_pages = Client(), Client()
    pages.force_login(clinician.user)
    admin_pages.force_login(admin.user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {demo['api']}")
    wrong = []
    for route in dict.fromkeys(walk(get_resolver().url_patterns)):
        kind = ROUTES[route][0]
        url = address(route, demo)
        as_admin = kind == ADMIN or route in ADMIN_ONLY
        client = admin_pages if as_admin else api if route.startswith("api/v1/") else pages
        if route.startswith(("p/", "r/")):
            client = Client()  # a patient's link is opened by the patient, not a signed-in member of staff
        before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = client.get(url)
        new = list(AuditEntry.objects.filter(pk__gt=before).values_list("action", "object_type", "summary"))
        expected = 1 if kind == PATIENT else 0
        if len(new) != expected or (kind == PATIENT and response.status_code != 200):
            wrong.append((url, kind, response.status_code, new))
    assert wrong == [], "\n".join(map(str, wrong))
