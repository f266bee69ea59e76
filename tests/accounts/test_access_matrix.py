"""Who may open which page and call which endpoint: every role, allowed and refused, and nobody outside the clinic.

Each row of PAGES and ENDPOINTS says which roles may use it. A role that may gets the page or a success
status with valid input; a role that may not gets 403, a refusal in the audit trail, and no change to any
patient data. A clinician of another clinic gets 404 on every patient-scoped URL and endpoint, including
crafted POSTs with valid input, and nothing changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token
from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import Consent, Episode, Patient, Screening
from needlepoint.scheduling import actions as scheduling_actions
from needlepoint.scheduling.models import Appointment, ContactPreference
from tests.conftest import all_no, client_for

CLINICIAN, FRONT_DESK, ADMIN = "clinician", "front_desk", "clinic_admin"
EVERYONE = (CLINICIAN, FRONT_DESK, ADMIN)
ROLE_LABEL = {CLINICIAN: "Clinician", FRONT_DESK: "Front Desk", ADMIN: "Clinic Admin"}


def patient_data_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every patient-data row with the fields an action could change: equal snapshots mean nothing changed."""
    return {
        "patients": list(
            Patient.objects.order_by("pk").values_list(
                "pk", "clinic_id", "mrn", "given_name", "family_name", "date_of_birth", "phone", "version"
            )
        ),
        "screenings": list(
            Screening.objects.order_by("pk").values_list(
                "pk", "patient_id", "status", "invalidated_at", "precautions_acknowledged_at"
            )
        ),
        "consents": list(Consent.objects.order_by("pk").values_list("pk", "patient_id", "signed_name", "withdrawn_at")),
        "episodes": list(
            Episode.objects.order_by("pk").values_list("pk", "patient_id", "condition", "side", "status", "version")
        ),
        "appointments": list(
            Appointment.objects.order_by("pk").values_list("pk", "patient_id", "starts_at", "status", "visit_id")
        ),
        "contact_preferences": list(
            ContactPreference.objects.order_by("pk").values_list("patient_id", "email_reminders")
        ),
    }


@dataclass(frozen=True)
class Route:
    """One page or endpoint: how to call it with valid input, and which roles may."""

    method: str
    url: str  # {p} patient, {s} screening, {c} consent, {e} episode, {v} visit, {n} a needled visit (another
    # patient's), {i} needle-stick incident, {a} an appointment, {k} its clinician
    allowed: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)
    ok: int = 200
    patient_scoped: bool = True

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


TODAY = timezone.localdate().isoformat()
NEW_PATIENT = {"given_name": "Sam", "family_name": "Lee", "date_of_birth": "1990-02-03", "sex": "male"}
EDITED = {"given_name": "Jane", "family_name": "Doe", "date_of_birth": "1980-05-17", "sex": "female"}
NEW_EPISODE = {"condition": "low_back_pain", "icd10_code": "M54.50", "side": "central", "onset_date": "2024-03-01"}
ACK_NOTE = {"note": "Check blood glucose before needling; superficial technique."}
CONSENT = {"signed_name": "Jane Doe", "text_version": 1}
DISCHARGE = {"discharge_date": TODAY, "reason": "goals_met"}
NEEDLE_STICK = {
    "occurred_at": "2024-01-02T09:00",
    "description": "Stuck while opening a new needle pack.",
    "source_kind": "clean_needle",
    "follow_up_due": TODAY,
}
NEEDLE_STICK_API = NEEDLE_STICK | {"occurred_at": "2024-01-02T09:00:00+00:00"}
TOMORROW = (timezone.localdate() + timedelta(days=1)).isoformat()
BOOKING = {
    "patient": "{p}",
    "clinician": "{k}",
    "kind": "follow_up",
    "day": TOMORROW,
    "start": "10:30",
    "minutes": "30",
    "repeat": "1",
    "every_weeks": "1",
}
API_BOOKING = {
    "patient_id": "{p}",
    "clinician_id": "{k}",
    "kind": "follow_up",
    "starts_at": f"{TOMORROW}T10:30:00",
    "minutes": 30,
}
NEW_STAFF = {
    "username": "newpt",
    "password": "a-long-unusual-passphrase-7",
    "role": "clinician",
    "profession": "physical_therapist",
    "licence_number": "PT-9",
}
LETTERHEAD = {"name": "Test Clinic", "address": "1 Quay Road", "phone": "(207) 555-0100", "email": "a@example.org"}

PAGES = [
    Route("GET", "/patients/?q=Doe", EVERYONE, patient_scoped=False),
    Route("GET", "/patients/new/", EVERYONE, patient_scoped=False),
    Route("POST", "/patients/new/", EVERYONE, NEW_PATIENT, ok=302, patient_scoped=False),
    Route("GET", "/patients/needling-age/", (ADMIN,), patient_scoped=False),
    Route("POST", "/patients/needling-age/", (ADMIN,), {"minimum_needling_age": 12}, ok=302, patient_scoped=False),
    Route("GET", "/patients/{p}/", EVERYONE),
    # Records another clinic sent: clinical content, never front desk.
    Route("GET", "/patients/{p}/received-records/", (CLINICIAN, ADMIN)),
    Route("GET", "/patients/{p}/edit/", EVERYONE),
    Route("POST", "/patients/{p}/edit/", EVERYONE, EDITED | {"phone": "+1 555 0100", "version": 1}, ok=302),
    Route("GET", "/patients/{p}/death/", EVERYONE),
    Route("POST", "/patients/{p}/death/", EVERYONE, {"deceased_date": "", "right_chart": "on", "version": 1}, ok=302),
    Route("GET", "/patients/{p}/death/withdraw/", EVERYONE),
    Route("GET", "/patients/{p}/screening/new/", (CLINICIAN,)),
    Route("POST", "/patients/{p}/screening/new/", (CLINICIAN,), all_no(), ok=302),
    Route("GET", "/patients/{p}/screening/{s}/", (CLINICIAN, ADMIN)),
    Route("POST", "/patients/{p}/screening/{s}/", (CLINICIAN,), ACK_NOTE, ok=302),
    Route("GET", "/patients/{p}/health-change/", (CLINICIAN,)),
    Route("POST", "/patients/{p}/health-change/", (CLINICIAN,), {"description": "Started warfarin"}, ok=302),
    Route("GET", "/patients/{p}/consent/new/", (CLINICIAN, FRONT_DESK)),
    Route("POST", "/patients/{p}/consent/new/", (CLINICIAN, FRONT_DESK), CONSENT, ok=302),
    Route("GET", "/patients/{p}/consent/{c}/withdraw/", (CLINICIAN, FRONT_DESK)),
    Route("POST", "/patients/{p}/consent/{c}/withdraw/", (CLINICIAN, FRONT_DESK), {"reason": "Exercise only"}, ok=302),
    Route("GET", "/patients/{p}/episodes/new/", (CLINICIAN,)),
    Route("POST", "/patients/{p}/episodes/new/", (CLINICIAN,), NEW_EPISODE, ok=302),
    Route("GET", "/patients/{p}/episodes/{e}/", (CLINICIAN, ADMIN)),
    Route("POST", "/patients/{p}/episodes/{e}/", (CLINICIAN,), DISCHARGE, ok=302),
    Route("GET", "/audit/", (ADMIN,), patient_scoped=False),
    Route("GET", "/audit.csv", (ADMIN,), patient_scoped=False),
    Route("GET", "/staff/", (ADMIN,), patient_scoped=False),
    Route("GET", "/clinic/letterhead/", (ADMIN,), patient_scoped=False),
    Route("POST", "/clinic/letterhead/", (ADMIN,), LETTERHEAD, ok=302, patient_scoped=False),
    # Printed clinical documents: clinical content, so never front desk.
    Route("GET", "/visits/{n}/note/", (CLINICIAN, ADMIN)),
    Route("GET", "/visits/{n}/note.pdf", (CLINICIAN, ADMIN)),
    Route("GET", "/patients/{p}/episodes/{e}/outcomes/referral-letter/", (CLINICIAN, ADMIN)),
    Route("GET", "/patients/{p}/episodes/{e}/outcomes/referral-letter.pdf", (CLINICIAN, ADMIN)),
    Route("GET", "/account/tokens/", EVERYONE, patient_scoped=False),
    Route("GET", "/account/security/", EVERYONE, patient_scoped=False),
    # The after-care sheet has no clinical content (name, date, clinic, general advice): front desk prints it.
    Route("GET", "/visits/{n}/after-care/", EVERYONE),
    Route("POST", "/visits/{v}/position/", (CLINICIAN,), {"patient_positions": "prone", "version": 1}, ok=302),
    Route("POST", "/visits/{v}/clean-technique/", (CLINICIAN,), {"gloves_worn": "yes", "version": 1}, ok=302),
    Route("GET", "/needle-sticks/", (CLINICIAN, ADMIN), patient_scoped=False),
    Route("GET", "/needle-sticks/new/", (CLINICIAN,), patient_scoped=False),
    Route("POST", "/needle-sticks/new/", (CLINICIAN,), NEEDLE_STICK, ok=302, patient_scoped=False),
    Route("GET", "/needle-sticks/{i}/", (CLINICIAN, ADMIN)),
    Route("POST", "/needle-sticks/{i}/", (CLINICIAN,), {"follow_up_due": TODAY, "version": 1}, ok=302),
    Route("GET", "/schedule/", EVERYONE, patient_scoped=False),
    Route("GET", "/schedule/clinicians/{k}/", EVERYONE),
    Route("GET", "/schedule/book/?patient={p}", EVERYONE),
    Route("POST", "/schedule/book/", EVERYONE, BOOKING, ok=302),
    Route("GET", "/schedule/patients/{p}/reminders/", EVERYONE),
    Route("POST", "/schedule/patients/{p}/reminders/", EVERYONE, {"email_reminders": "no"}, ok=302),
    Route("GET", "/schedule/calendar-feed/", EVERYONE, patient_scoped=False),
    Route("POST", "/schedule/calendar-feed/", (CLINICIAN,), patient_scoped=False),
    Route("GET", "/appointments/{a}/", EVERYONE),
    Route("POST", "/appointments/{a}/status/", EVERYONE, {"status": "arrived"}, ok=302),
    Route("POST", "/appointments/{a}/start-visit/", (CLINICIAN,), ok=302),
    Route("POST", "/appointments/{a}/reminder/", EVERYONE, ok=302),
]

SCHEDULING_PAGES = ("/schedule/", "/appointments/")

API = "/api/v1"
ENDPOINTS = [
    Route("GET", f"{API}/me", EVERYONE, patient_scoped=False),
    Route("GET", f"{API}/audit", (ADMIN,), patient_scoped=False),
    Route("GET", f"{API}/staff", (ADMIN,), patient_scoped=False),
    Route("POST", f"{API}/staff", (ADMIN,), NEW_STAFF, ok=201, patient_scoped=False),
    Route("GET", f"{API}/tokens", EVERYONE, patient_scoped=False),
    Route("POST", f"{API}/tokens", EVERYONE, {"name": "billing export"}, ok=201, patient_scoped=False),
    Route("GET", f"{API}/patients?q=Doe", EVERYONE, patient_scoped=False),
    Route("POST", f"{API}/patients/search", EVERYONE, {"q": "Doe"}, patient_scoped=False),
    Route("POST", f"{API}/patients", EVERYONE, NEW_PATIENT, ok=201, patient_scoped=False),
    Route("GET", f"{API}/patients/{{p}}", EVERYONE),
    Route("PATCH", f"{API}/patients/{{p}}", EVERYONE, {"version": 1, "phone": "+1 555 0100"}),
    Route("GET", f"{API}/patients/{{p}}/needling-clearance", EVERYONE),
    Route("POST", f"{API}/patients/{{p}}/screenings", (CLINICIAN,), {"answers": all_no()}, ok=201),
    Route("GET", f"{API}/patients/{{p}}/screenings", (CLINICIAN, ADMIN)),
    Route("POST", f"{API}/patients/{{p}}/screenings/{{s}}/acknowledge", (CLINICIAN,), ACK_NOTE),
    Route("POST", f"{API}/patients/{{p}}/health-change", (CLINICIAN,), {"description": "Started warfarin"}),
    Route("GET", f"{API}/patients/{{p}}/consent-text", (CLINICIAN, FRONT_DESK)),
    Route("POST", f"{API}/patients/{{p}}/consents", (CLINICIAN, FRONT_DESK), CONSENT, ok=201),
    Route(
        "POST", f"{API}/patients/{{p}}/consents/{{c}}/withdraw", (CLINICIAN, FRONT_DESK), {"reason": "Exercise only"}
    ),
    Route("POST", f"{API}/patients/{{p}}/episodes", (CLINICIAN,), NEW_EPISODE, ok=201),
    Route("GET", f"{API}/patients/{{p}}/episodes", (CLINICIAN, ADMIN)),
    Route("POST", f"{API}/patients/{{p}}/episodes/{{e}}/discharge", (CLINICIAN,), DISCHARGE),
    Route("GET", f"{API}/needle-sticks", (CLINICIAN, ADMIN), patient_scoped=False),
    Route("POST", f"{API}/needle-sticks", (CLINICIAN,), NEEDLE_STICK_API, ok=201, patient_scoped=False),
    Route("GET", f"{API}/needle-sticks/{{i}}", (CLINICIAN, ADMIN)),
    Route("POST", f"{API}/needle-sticks/{{i}}/steps", (CLINICIAN,), {"version": 1, "follow_up_due": TODAY}),
    Route("POST", f"{API}/needle-sticks/{{i}}/close", (CLINICIAN, ADMIN), {"version": 1, "note": "Tests negative."}),
    Route("GET", f"{API}/scheduling/appointments", EVERYONE, patient_scoped=False),
    Route("POST", f"{API}/scheduling/appointments", EVERYONE, API_BOOKING, ok=201),
    Route("GET", f"{API}/scheduling/appointments/{{a}}", EVERYONE),
    Route("POST", f"{API}/scheduling/appointments/{{a}}/status", EVERYONE, {"status": "arrived"}),
    Route("POST", f"{API}/scheduling/appointments/{{a}}/start-visit", (CLINICIAN,)),
    Route("POST", f"{API}/scheduling/appointments/{{a}}/reminder", EVERYONE, ok=201),
    Route("GET", f"{API}/scheduling/patients/{{p}}/contact-preference", EVERYONE),
    Route("PUT", f"{API}/scheduling/patients/{{p}}/contact-preference", EVERYONE, {"email_reminders": False}),
]


def _cases(routes: list[Route]) -> list[Any]:
    return [
        pytest.param(route, role, id=f"{role}-{'may' if role in route.allowed else 'may-not'}-{route}")
        for route in routes
        for role in EVERYONE
    ]


@pytest.fixture
def records(clinician, patient) -> SimpleNamespace:
    """Jane Doe with a screening whose precautions await acknowledgement, a consent, an open episode, and a
    follow-up booked with the clinician tomorrow at 10:00 (she has an e-mail address for reminders)."""
    screening = actions.record_screening(clinician, patient, all_no() | {"diabetes": "yes"})
    consent = actions.record_consent(
        clinician, patient, patient.full_name, current_consent_text(patient.clinic).version
    )
    episode = actions.open_episode(
        clinician,
        patient,
        {"condition": "neck_pain", "icd10_code": "M54.2", "side": "central", "onset_date": date(2024, 1, 5)},
    )
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org")
    tomorrow_10 = timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=1), time(10)))
    appointment = scheduling_actions.book_appointment(
        clinician, patient.pk, {"clinician": clinician.pk, "kind": "follow_up", "starts_at": tomorrow_10}
    )
    return SimpleNamespace(
        patient=patient,
        screening=screening,
        consent=consent,
        episode=episode,
        needled_visit=needled_visit(clinician),
        appointment=appointment,
        **_visit_and_needle_stick(clinician, episode),
    )


def needled_visit(clinician):
    """A visit with one needling entry, of a second patient who is cleared for needling (Jane Doe is not)."""
    from needlepoint.visits import actions as visit_actions
    from tests.visits.visit_helpers import add, clear_with, open_neck_episode

    other = actions.register_patient(
        clinician, {"given_name": "Mia", "family_name": "Park", "date_of_birth": date(1985, 3, 4), "sex": "female"}
    )
    clear_with(clinician, other)
    episode = open_neck_episode(clinician, other)
    return add(clinician, visit_actions.start_visit(clinician, episode, {"started_at": timezone.now()}))


def _visit_and_needle_stick(clinician, episode) -> dict[str, Any]:
    """A visit of the episode, and a needle-stick injury (clean needle) with every protocol step recorded."""
    from needlepoint.visits import actions as visit_actions
    from needlepoint.visits.needle_stick import record_needle_stick

    visit = visit_actions.start_visit(clinician, episode, {})
    yesterday = timezone.now() - timedelta(days=1)
    incident = record_needle_stick(
        clinician,
        {
            "occurred_at": yesterday,
            "description": "Stuck while opening a new needle pack.",
            "source_kind": "clean_needle",
            "wound_washed_at": yesterday,
            "reported_at": yesterday,
            "reported_to": "Dr Lead",
            "pep_decision": "not_indicated",
            "follow_up_due": timezone.localdate(),
        },
    )
    return {"visit": visit, "incident": incident}


def _ids(records: SimpleNamespace, **override: int) -> dict[str, int]:
    ids = {
        "p": records.patient.pk,
        "s": records.screening.pk,
        "c": records.consent.pk,
        "e": records.episode.pk,
        "v": records.visit.pk,
        "n": records.needled_visit.pk,
        "i": records.incident.pk,
        "a": records.appointment.pk,
        "k": records.appointment.clinician_id,
    }
    return ids | override


def _url(route: Route, records: SimpleNamespace, **override: int) -> str:
    return route.url.format(**_ids(records, **override))


def _payload(route: Route, ids: dict[str, int] | None) -> dict[str, Any]:
    """The route's data with record ids filled in where it names them ("{p}")."""
    if ids is None:
        return route.data
    return {k: v.format(**ids) if isinstance(v, str) and "{" in v else v for k, v in route.data.items()}


def call_page(client: Client, route: Route, url: str, ids: dict[str, int] | None = None):
    if route.method == "GET":
        return client.get(url)
    return client.post(url, _payload(route, ids))


def api_client(membership) -> Client:
    """A client that authenticates as another system would: a personal API token, no session."""
    _, raw = create_api_token(membership, "matrix")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def call_api(client: Client, route: Route, url: str, ids: dict[str, int] | None = None):
    if route.method == "GET":
        return client.get(url)
    return client.generic(route.method, url, json.dumps(_payload(route, ids)), content_type="application/json")


def _denials(membership) -> int:
    return AuditEntry.objects.filter(user=membership.user, action="denied").count()


@pytest.mark.parametrize(("route", "role"), _cases(PAGES))
def test_each_role_may_open_exactly_its_pages(route: Route, role: str, request, records) -> None:
    membership = request.getfixturevalue(role)
    client = client_for(membership)
    before, denials = patient_data_snapshot(), _denials(membership)

    response = call_page(client, route, _url(route, records), _ids(records))

    if role in route.allowed:
        assert response.status_code == route.ok, response.content[:500]
    else:
        assert response.status_code == 403
        assert patient_data_snapshot() == before
        assert _denials(membership) == denials + 1


@pytest.mark.parametrize(("route", "role"), _cases(ENDPOINTS))
def test_each_role_may_call_exactly_its_endpoints(route: Route, role: str, request, records) -> None:
    membership = request.getfixturevalue(role)
    client = api_client(membership)
    before, denials = patient_data_snapshot(), _denials(membership)

    response = call_api(client, route, _url(route, records), _ids(records))

    if role in route.allowed:
        assert response.status_code == route.ok, response.content[:500]
    else:
        assert response.status_code == 403
        assert response.json() == {"detail": f"Your role ({ROLE_LABEL[role]}) does not allow this."}
        assert patient_data_snapshot() == before
        assert _denials(membership) == denials + 1


@pytest.mark.parametrize("route", [r for r in PAGES if r.patient_scoped], ids=str)
def test_an_outsider_gets_not_found_for_another_clinics_patient_page(route: Route, outsider, records) -> None:
    before = patient_data_snapshot()

    response = call_page(client_for(outsider), route, _url(route, records), _ids(records))

    assert response.status_code == 404
    assert b"Not found" in response.content
    assert records.patient.full_name.encode() not in response.content
    assert patient_data_snapshot() == before


@pytest.mark.parametrize("route", [r for r in ENDPOINTS if r.patient_scoped], ids=str)
def test_an_outsider_gets_not_found_for_another_clinics_patient_endpoint(route: Route, outsider, records) -> None:
    before = patient_data_snapshot()

    response = call_api(api_client(outsider), route, _url(route, records), _ids(records))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert patient_data_snapshot() == before


@pytest.fixture
def outsiders_own_patient(outsider):
    return actions.register_patient(
        outsider, {"given_name": "Olga", "family_name": "Berg", "date_of_birth": date(1966, 9, 2), "sex": "female"}
    )


RECORD_ROUTES = [r for r in PAGES + ENDPOINTS if any(k in r.url for k in ("{s}", "{c}", "{e}"))]


@pytest.mark.parametrize("route", RECORD_ROUTES, ids=str)
def test_an_outsider_cannot_reach_another_clinics_record_through_their_own_patient(
    route: Route, outsider, outsiders_own_patient, records
) -> None:
    """A crafted URL: the outsider's own patient, with a screening, consent or episode id of another clinic."""
    before = patient_data_snapshot()
    url = _url(route, records, p=outsiders_own_patient.pk)
    client = api_client(outsider) if url.startswith(API) else client_for(outsider)

    response = call_api(client, route, url) if url.startswith(API) else call_page(client, route, url)

    assert response.status_code == 404
    assert patient_data_snapshot() == before


@pytest.mark.parametrize("route", RECORD_ROUTES, ids=str)
def test_a_record_is_not_reachable_under_another_patient_of_the_same_clinic(route: Route, clinician, records) -> None:
    other = actions.register_patient(
        clinician, {"given_name": "Ken", "family_name": "Ito", "date_of_birth": date(1970, 1, 1), "sex": "male"}
    )
    before = patient_data_snapshot()
    url = _url(route, records, p=other.pk)
    client = api_client(clinician) if url.startswith(API) else client_for(clinician)

    response = call_api(client, route, url) if url.startswith(API) else call_page(client, route, url)

    assert response.status_code == 404
    assert patient_data_snapshot() == before


def test_an_outsider_searching_finds_nothing_of_another_clinic(outsider, records) -> None:
    page = client_for(outsider).get("/patients/?q=Doe")
    assert page.status_code == 200
    assert b"No patient matches" in page.content
    assert records.patient.mrn.encode() not in page.content

    for query in ("Doe", records.patient.mrn, "1980-05-17"):
        assert api_client(outsider).get(f"{API}/patients", {"q": query}).json() == []


def test_an_outsider_admin_cannot_read_another_clinics_audit_trail(other_clinic, records) -> None:
    from tests.conftest import make_member

    outsider_admin = make_member(other_clinic, "olaf", "clinic_admin")

    entries = api_client(outsider_admin).get(f"{API}/audit", {"patient_id": records.patient.pk, "limit": 1000}).json()
    page = client_for(outsider_admin).get("/audit/", {"patient": records.patient.pk})
    csv = b"".join(client_for(outsider_admin).get("/audit.csv").streaming_content).decode()

    assert entries == []
    assert b"No entries match." in page.content
    assert records.patient.mrn not in csv
    assert "alice" not in csv


def test_front_desk_sees_demographics_and_consent_status_but_no_screening_answers_or_episodes(
    front_desk, records
) -> None:
    page = client_for(front_desk).get(f"/patients/{records.patient.pk}/").content.decode()

    assert "Jane Doe" in page
    assert records.patient.mrn in page
    assert "1980-05-17" in page
    assert "Consent" in page and "Version 1 signed" in page
    assert "Episodes of care" not in page
    assert "Neck pain" not in page
    assert f"/screening/{records.screening.pk}/" not in page
    assert "Cleared with precautions" not in page
    assert "precautions to acknowledge" not in page


def test_front_desk_cannot_read_screening_answers(front_desk, records) -> None:
    page = client_for(front_desk).get(f"/patients/{records.patient.pk}/screening/{records.screening.pk}/")
    api = api_client(front_desk).get(f"{API}/patients/{records.patient.pk}/screenings")

    assert page.status_code == 403
    assert b"diabetes" not in page.content.lower()
    assert api.status_code == 403
    assert "diabetes" not in api.content.decode().lower()


def test_a_clinician_sees_the_screening_and_episodes_on_the_patient_page(clinician, records) -> None:
    page = client_for(clinician).get(f"/patients/{records.patient.pk}/").content.decode()

    assert "Episodes of care" in page
    assert "Neck pain" in page
    assert f"/screening/{records.screening.pk}/" in page
    assert "precautions to acknowledge" in page


def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_page(records) -> None:
    for route in PAGES:
        if route.method != "GET":
            continue
        response = Client().get(_url(route, records))
        assert response.status_code == 302, route
        assert response["Location"].startswith("/login/?next="), route


def test_an_anonymous_caller_gets_a_json_401_from_every_endpoint(records) -> None:
    for route in ENDPOINTS:
        response = call_api(Client(), route, _url(route, records))
        assert response.status_code == 401, route
        assert response.json() == {"detail": "Authenticate with an API token: Authorization: Bearer <token>."}


def test_the_matrix_lists_every_foundation_page() -> None:
    from django.urls import get_resolver

    from needlepoint.accounts import views as account_views
    from needlepoint.patients import views as patient_views
    from needlepoint.visits import event_views

    foundation = {
        str(p.pattern)
        for p in get_resolver().url_patterns
        if getattr(p, "callback", None) is not None
        and p.callback.__module__ in (account_views.__name__, patient_views.__name__)
    }
    # The in-clinic safety pages sit in the visits URLconf, included under a prefix.
    foundation |= {
        str(outer.pattern) + str(p.pattern)
        for outer in get_resolver().url_patterns
        for p in getattr(outer, "url_patterns", [])
        if getattr(p, "callback", None) is not None and p.callback.__module__ == event_views.__name__
    }
    public_or_post_only = {
        "login/",
        "logout/",
        "switch-clinic/",
        "login/code/",
        "login/enrol/",
        "password-reset/<str:uidb64>/<str:token>/",
        "login/passkey/options/",
        "login/passkey/",
        "account/passkeys/options/",
        "account/passkeys/",
    }
    other_apps = {
        "visits/<int:visit_id>/after-care/",
        "visits/<int:visit_id>/note/",
        "visits/<int:visit_id>/note.pdf",
        "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/referral-letter/",
        "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/referral-letter.pdf",
    }
    listed = {
        route.url.split("?")[0]
        .lstrip("/")
        .replace("{p}", "<int:patient_id>")
        .replace("{s}", "<int:screening_id>")
        .replace("{c}", "<int:consent_id>")
        .replace("{e}", "<int:episode_id>")
        .replace("{v}", "<int:visit_id>")
        .replace("{n}", "<int:visit_id>")
        .replace("{i}", "<int:incident_id>")
        for route in PAGES
        if not route.url.startswith(SCHEDULING_PAGES)
    }
    assert foundation - public_or_post_only == listed - other_apps


def test_the_matrix_lists_every_foundation_endpoint() -> None:
    from needlepoint.accounts.api import router as accounts_router
    from needlepoint.patients.api import router as patients_router
    from needlepoint.visits.needle_stick_api import router as needle_stick_router

    declared = set()
    for prefix, router in (
        ("", accounts_router),
        ("/patients", patients_router),
        ("/needle-sticks", needle_stick_router),
    ):
        for path, view in router.path_operations.items():
            for operation in view.operations:
                for method in operation.methods:
                    declared.add((method, prefix + path))
    listed = {
        (
            route.method,
            route.url.removeprefix(API)
            .split("?")[0]
            .replace("{p}", "{patient_id}")
            .replace("{s}", "{screening_id}")
            .replace("{c}", "{consent_id}")
            .replace("{e}", "{episode_id}")
            .replace("{i}", "{incident_id}"),
        )
        for route in ENDPOINTS
        if not route.url.startswith(f"{API}/scheduling")
    }
    # Revoking acts only on the caller's own token, whatever the role; tests/accounts/test_api_tokens.py covers it.
    own_token_only = {("POST", "/tokens/{token_id}/revoke")}
    assert declared - own_token_only == listed


def test_a_person_in_two_clinics_sees_each_clinics_patients_only_while_working_there(
    clinician, other_clinic, records
) -> None:
    from needlepoint.accounts.models import Membership

    elsewhere = Membership.objects.create(user=clinician.user, clinic=other_clinic, role="front_desk")
    client = client_for(clinician)
    url = f"/patients/{records.patient.pk}/"
    assert client.get(url).status_code == 200

    client.post("/switch-clinic/", {"membership_id": elsewhere.pk})

    assert client.get(url).status_code == 404
    assert b"No patient matches" in client.get("/patients/?q=Doe").content
    client.post("/switch-clinic/", {"membership_id": clinician.pk})
    assert client.get(url).status_code == 200


def test_switching_to_a_clinic_one_does_not_belong_to_changes_nothing(clinician, outsider, records) -> None:
    client = client_for(outsider)

    client.post("/switch-clinic/", {"membership_id": clinician.pk})

    assert client.get(f"/patients/{records.patient.pk}/").status_code == 404
    assert client.get("/api/v1/me").json()["clinic"] == "Other Clinic"


def test_the_matrix_lists_every_scheduling_page() -> None:
    from django.urls import get_resolver

    from needlepoint.scheduling import views as scheduling_views

    declared = {
        str(p.pattern)
        for p in get_resolver().url_patterns
        if hasattr(p, "url_patterns")
        for p in p.url_patterns
        if getattr(p, "callback", None) is not None and p.callback.__module__ == scheduling_views.__name__
    }
    # The calendar feed is opened by its unguessable token, not a role; test_reminders_and_feeds.py covers it.
    token_only = {"calendar-feed/<str:token>.ics"}
    listed = {
        route.url.split("?")[0]
        .lstrip("/")
        .replace("{p}", "<int:patient_id>")
        .replace("{a}", "<int:appointment_id>")
        .replace("{k}", "<int:clinician_id>")
        for route in PAGES
        if route.url.startswith(SCHEDULING_PAGES)
    }
    assert declared - token_only == listed


def test_the_matrix_lists_every_scheduling_endpoint() -> None:
    from needlepoint.scheduling.api import router

    declared = {
        (method, "/scheduling" + path)
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    listed = {
        (
            route.method,
            route.url.removeprefix(API).split("?")[0].replace("{p}", "{patient_id}").replace("{a}", "{appointment_id}"),
        )
        for route in ENDPOINTS
        if route.url.startswith(f"{API}/scheduling")
    }
    assert declared == listed
