"""The patient page's body (details and identifiers, needling clearance, episodes, conditions and records received,
and the other apps' panels: recent visits, open adverse events, coming appointments), kept in the shared cache
(``accounts.generations``) until a write changes what it shows, and a minute at most.

Two generations key it: the patient's own (``PATIENT_PAGE``), which a save or delete of any row of the patient
that the body shows ends (``PATIENT_ROWS`` and the rows each panel declares, ``register_patient_panel``), and the
clinic's (``CLINIC_PATIENT_PAGES``), which a change of the clinic's settings, its consent texts or its staff's
names or roles ends. What changes by the clock alone (a screening passing its date, an appointment passing) or
through a write the receivers cannot see shows within the minute.

The page's head (the name, the export form, the apps to launch) is rendered for each request: it holds the forms
that carry the request's CSRF token. The patient's read is recorded by the access helper on every request, before
the body is read from the cache or worked out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString

from needlepoint.accounts import audit, generations
from needlepoint.accounts.context import capabilities
from needlepoint.accounts.models import Membership
from needlepoint.patients.gate import Clearance
from needlepoint.patients.models import Patient
from needlepoint.patients.panels import on_patient_panel_reads

BODY_SECONDS = 60
BODY_FORMAT = 1  # part of the key: a release that changes the body's template raises it
PATIENT_PAGE = generations.Generation("patient-page")  # owner: the patient
CLINIC_PATIENT_PAGES = generations.Generation("patient-pages")  # owner: the clinic
# The patient's rows the body shows itself (the panels declare theirs); tests/patients/test_patient_page_cache.py
# checks that a worked-out body reads no other table.
PATIENT_ROWS = frozenset(
    {
        "patients.Patient", "patients.PatientIdentifier", "patients.Screening", "patients.Consent",
        "patients.Episode", "patients.ReportedCondition", "patients.ReceivedRecord",
    }
)  # fmt: skip
# The clinic's rows the body shows: its settings, the consent texts (which one is current decides the clearance)
# and its staff (who opened an episode, who saw the patient); a user's rename ends the clinics it is a member of.
CLINIC_ROWS = frozenset({"accounts.Clinic", "accounts.Membership", "patients.ConsentText"})


def stored_body(
    request: HttpRequest, membership: Membership, patient: Patient, work_out_context: Callable[[], dict[str, Any]]
) -> SafeString:
    """The patient page's body as HTML for ``membership``'s role (``generations.stored_html``): the stored one while
    the patient's and the clinic's generations are unchanged, for ``BODY_SECONDS`` at most and never past a change of
    its needling clearance by the clock, else rendered from the patient, the role's capabilities and
    ``work_out_context()``, and stored."""
    key = ":".join(
        ("patient-page", str(BODY_FORMAT), str(patient.pk), membership.role, timezone.localdate().isoformat())
    )
    return generations.stored_html(
        request,
        [(PATIENT_PAGE, patient.pk), (CLINIC_PATIENT_PAGES, membership.clinic_id)],
        key,
        "patients/_detail_body.html",
        lambda: {**work_out_context(), "patient": patient, "can": capabilities(membership)},
        BODY_SECONDS,
        keep_seconds=lambda context: _until_the_clearance_changes(context.get("clearance")),
    )


def _until_the_clearance_changes(clearance: Clearance | None) -> int:
    """How long the body may be kept before its needling clearance changes by the clock alone (the screening
    lapsing, or a reported change in health taking effect): a stored body never shows "Cleared for needling" past
    the moment the gate would refuse. A second is taken off, as the cache keeps expiry times to the second."""
    screening = clearance.screening if clearance is not None else None
    if screening is None:
        return BODY_SECONDS
    now = timezone.now()
    moments = [m for m in (screening.expires_at, screening.invalidated_at) if m is not None and m > now]
    if not moments:
        return BODY_SECONDS
    return min(BODY_SECONDS, int((min(moments) - now).total_seconds()) - 1)


def clinic_changed(clinic_id: int) -> None:
    """Every patient page of the clinic is out of date: for a write that bypasses the ORM's save (a bulk import)."""
    CLINIC_PATIENT_PAGES.end(clinic_id)


def _connect_patient_rows(labels: tuple[str, ...]) -> None:
    generations.end_on_writes(PATIENT_PAGE, labels, "patient_page", owner_of=audit.patient_of)


def connect() -> None:
    """Connect the receivers, each for its own models (PatientsConfig.ready); the panels' models as the apps that
    add the panels declare them (a receiver for every model would keep Django from deleting any rows in bulk)."""
    _connect_patient_rows(tuple(PATIENT_ROWS))
    on_patient_panel_reads(_connect_patient_rows)
    generations.end_on_writes(CLINIC_PATIENT_PAGES, CLINIC_ROWS, "patient_page_clinic")
    generations.end_on_user_renames(CLINIC_PATIENT_PAGES, "patient_page")
