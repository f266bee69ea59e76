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

from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

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


def stored_body(membership: Membership, patient: Patient, work_out_context: Callable[[], dict[str, Any]]) -> SafeString:
    """The patient page's body as HTML for ``membership``'s role: the stored one while the patient's and the
    clinic's generations are unchanged and for ``BODY_SECONDS`` at most, else rendered from ``work_out_context()``
    (without the request: from the patient, the role's capabilities and the context alone) and stored."""
    key = ":".join(
        (
            "patient-page", str(BODY_FORMAT), str(patient.pk), membership.role, timezone.localdate().isoformat(),
            timezone.get_current_timezone_name(), translation.get_language() or "-",
        )
    )  # fmt: skip

    def work_out() -> dict[str, Any]:
        with audit.reads_recorded() as reads:
            context = {**work_out_context(), "patient": patient, "can": capabilities(membership)}
            html = render_to_string("patients/_detail_body.html", context)
        return {"html": html, "reads": reads, "keep_seconds": _until_the_clearance_changes(context.get("clearance"))}

    found = generations.stored(
        [(PATIENT_PAGE, patient.pk), (CLINIC_PATIENT_PAGES, membership.clinic_id)],
        key,
        work_out,
        BODY_SECONDS,
        on_hit=lambda value: audit.record_again(value["reads"]),
        shape=("html", "reads"),
    )
    html: str = found["html"]
    return mark_safe(html)  # rendered by our template, escaped there


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


def _patient_row_changed(sender: type[Model], instance: Model, raw: bool = False, **_: Any) -> None:
    """After a row of a patient that the body shows is saved or deleted: end the patient's generation."""
    patient_id = None if raw else audit.patient_of(instance)
    if patient_id is not None:
        PATIENT_PAGE.end(patient_id)


def _clinic_row_changed(sender: type[Model], instance: Model, raw: bool = False, **_: Any) -> None:
    """After a clinic's setting, consent text or member is saved or deleted: end the clinic's generation."""
    if not raw:
        CLINIC_PATIENT_PAGES.end(generations.clinic_of(instance))


def _user_saved(sender: type[Model], instance: Model, raw: bool = False, update_fields: Any = None, **_: Any) -> None:
    """After a user is saved: end the generation of each clinic whose pages may show the user's name."""
    for clinic_id in [] if raw else generations.clinics_shown_user(instance, update_fields):
        CLINIC_PATIENT_PAGES.end(clinic_id)


def clinic_changed(clinic_id: int) -> None:
    """Every patient page of the clinic is out of date: for a write that bypasses the ORM's save (a bulk import)."""
    CLINIC_PATIENT_PAGES.end(clinic_id)


def _connect_patient_rows(labels: tuple[str, ...]) -> None:
    for label in labels:
        post_save.connect(_patient_row_changed, sender=label, dispatch_uid=f"patient_page_saved_{label}")
        post_delete.connect(_patient_row_changed, sender=label, dispatch_uid=f"patient_page_deleted_{label}")


def connect() -> None:
    """Connect the receivers, each for its own models (PatientsConfig.ready); the panels' models as the apps that
    add the panels declare them (a receiver for every model would keep Django from deleting any rows in bulk)."""
    _connect_patient_rows(tuple(PATIENT_ROWS))
    on_patient_panel_reads(_connect_patient_rows)
    for label in CLINIC_ROWS:
        post_save.connect(_clinic_row_changed, sender=label, dispatch_uid=f"patient_page_clinic_saved_{label}")
        post_delete.connect(_clinic_row_changed, sender=label, dispatch_uid=f"patient_page_clinic_deleted_{label}")
    post_save.connect(_user_saved, sender="accounts.User", dispatch_uid="patient_page_user_saved")
