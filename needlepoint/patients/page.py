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
from needlepoint.patients.models import Patient
from needlepoint.patients.panels import patient_panel_reads

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
        return {"html": html, "reads": reads}

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


def _saved_or_deleted(sender: type[Model], instance: Model, raw: bool = False, **kwargs: Any) -> None:
    """After any row is saved or deleted: end the generations of the patient and clinic whose pages show it."""
    if raw:
        return
    label = sender._meta.label
    if label in PATIENT_ROWS or label in patient_panel_reads():
        patient_id = audit.patient_of(instance)
        if patient_id is not None:
            PATIENT_PAGE.end(patient_id)
    elif label in CLINIC_ROWS:
        CLINIC_PATIENT_PAGES.end(generations.clinic_of(instance))
    elif label == "accounts.User":
        for clinic_id in generations.clinics_shown_user(instance, kwargs.get("update_fields")):
            CLINIC_PATIENT_PAGES.end(clinic_id)


def connect() -> None:
    """Connect the receiver (PatientsConfig.ready). It listens to every model, and looks a saved row's model up
    when it is called: the panels' models are declared by apps made ready after this one."""
    post_save.connect(_saved_or_deleted, dispatch_uid="patient_page_saved")
    post_delete.connect(_saved_or_deleted, dispatch_uid="patient_page_deleted")
