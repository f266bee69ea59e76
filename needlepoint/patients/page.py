"""Parts of a patient's pages kept in the shared cache (``accounts.generations``) until a write changes what they
show, and a minute at most: the patient page's body (details and identifiers, needling clearance, episodes,
conditions and records received, and the other apps' panels: recent visits, open adverse events, coming
appointments), and the parts other apps keep through ``stored_part`` (a signed visit's page, an episode's progress
page, the patient's FHIR record).

Two generations key each part: the patient's own (``PATIENT_PAGES``), which a save or delete of any row of the
patient that a stored part shows ends (``PATIENT_ROWS``, the rows each panel declares, ``register_patient_panel``,
and those the other apps declare, ``shows_patient_rows``), and the clinic's (``CLINIC_PATIENT_PAGES``), which a
change of the clinic's settings, its consent texts, its staff's names or roles, or the other rows of the clinic the
apps declare (``shows_clinic_rows``) ends. What changes by the clock alone (a screening passing its date, an
appointment passing) or through a write the receivers cannot see shows within the minute.

The head of each page (the name, the export form, the apps to launch) is rendered for each request: it holds the
forms that carry the request's CSRF token. The record's read is recorded by the access helper on every request,
before the part is read from the cache or worked out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
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
# Names never used by an earlier release, whose workers may share the cache during a deploy.
PATIENT_PAGES = generations.Generation("patient-parts")  # owner: the patient
CLINIC_PATIENT_PAGES = generations.Generation("clinic-patient-parts")  # owner: the clinic
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


# The rows each of the other apps' stored parts shows besides the patient page's own, by part (shows_patient_rows,
# shows_clinic_rows): for the tests' guard, rows_shown.
_parts_rows: dict[str, set[str]] = {}


def stored_body(
    request: HttpRequest, membership: Membership, patient: Patient, work_out_context: Callable[[], dict[str, Any]]
) -> SafeString:
    """The patient page's body as HTML for ``membership``'s role (``generations.stored_html``): the stored one while
    the patient's and the clinic's generations are unchanged, for ``BODY_SECONDS`` at most and never past a change of
    its needling clearance by the clock, else rendered from the patient, the role's capabilities and
    ``work_out_context()``, and stored."""
    return stored_part(
        request,
        membership,
        patient.pk,
        f"patient-page:{BODY_FORMAT}:{patient.pk}",
        "patients/_detail_body.html",
        lambda: {**work_out_context(), "patient": patient},
        keep_seconds=lambda context: _until_the_clearance_changes(context.get("clearance")),
    )


def stored_part(
    request: HttpRequest,
    membership: Membership,
    patient_id: int,
    key: str,
    template: str,
    work_out_context: Callable[[], dict[str, Any]],
    *,
    keep_seconds: Callable[[dict[str, Any]], int] | None = None,
) -> SafeString:
    """A part of one of the patient's pages as HTML for ``membership``'s role (``generations.stored_html``): the one
    stored under ``key`` (which says the part, its format and its record) while the patient's and the clinic's
    generations are unchanged, on the same clinic day, for ``BODY_SECONDS`` at most (or ``keep_seconds(context)``,
    when sooner), else rendered from ``work_out_context()`` and the role's capabilities (``can``), and stored.

    The part's app declares the rows the part shows (``shows_patient_rows``, ``shows_clinic_rows``): a part that
    showed a row of another model would keep showing it after a write, for its minute."""
    return generations.stored_html(
        request,
        _generations(membership, patient_id),
        ":".join((key, membership.role, timezone.localdate().isoformat())),
        template,
        lambda: {**work_out_context(), "can": capabilities(membership)},
        BODY_SECONDS,
        keep_seconds=keep_seconds,
    )


def stored_data(
    membership: Membership,
    patient_id: int,
    key: str,
    work_out: Callable[[], dict[str, Any]],
    *,
    shape: Iterable[str] = (),
) -> dict[str, Any]:
    """A part of the patient's record kept as data rather than HTML (the patient's FHIR record), for
    ``membership``'s role: the value stored under ``key`` while the patient's and the clinic's generations are
    unchanged, for ``BODY_SECONDS`` at most, else ``work_out()`` (plain values), stored
    (``generations.stored_with_reads``). Its app declares the rows it shows, as for ``stored_part``."""
    return generations.stored_with_reads(
        _generations(membership, patient_id), f"{key}:{membership.role}", work_out, BODY_SECONDS, shape=shape
    )


def _generations(membership: Membership, patient_id: int) -> list[tuple[generations.Generation, int]]:
    return [(PATIENT_PAGES, patient_id), (CLINIC_PATIENT_PAGES, membership.clinic_id)]


def shows_patient_rows(part: str, labels: Iterable[str]) -> None:
    """An app's stored ``part`` (its key's first word) shows the patient's rows of these models (``app.Model``)
    besides the patient page's own: a save or delete of one ends the patient's stored parts (called from the app's
    ``ready``; a model two parts show is connected once)."""
    labels = tuple(labels)
    _parts_rows.setdefault(part, set()).update(labels)
    _connect_patient_rows(labels)


def shows_clinic_rows(part: str, labels: Iterable[str]) -> None:
    """An app's stored ``part`` shows the clinic's rows of these models (settings kept per clinic) besides its
    staff, settings and consent texts: a save or delete of one ends every stored part of the clinic's patients."""
    labels = tuple(labels)
    _parts_rows.setdefault(part, set()).update(labels)
    _connect_clinic_rows(labels)


def rows_shown(part: str) -> frozenset[str]:
    """The models whose writes end ``part`` ("patient-page" for the body, whose panels declare theirs), as the
    part declared them (``accounts.User`` through its renames): a worked-out part that reads a table outside these
    would keep showing the table's rows after a write (the tests' guard)."""
    return PATIENT_ROWS | CLINIC_ROWS | _parts_rows.get(part, set()) | {"accounts.User"}


def _until_the_clearance_changes(clearance: Clearance | None) -> int:
    """How long the body may be kept before its needling clearance changes by the clock alone (the screening
    lapsing, or a reported change in health taking effect): a stored body never shows "Cleared for needling" past
    the moment the gate would refuse."""
    screening = clearance.screening if clearance is not None else None
    return kept_until([screening.expires_at, screening.invalidated_at] if screening is not None else [])


def kept_until(moments: Iterable[datetime | None]) -> int:
    """The seconds a stored part may be kept when what it shows changes by the clock at the first of ``moments``
    still to come (a screening lapsing, a link expiring): ``BODY_SECONDS`` when none is, else until a second before
    it (the cache keeps expiry times to the second). Worked out before the part is rendered, so a moment that passes
    while rendering shortens the keep instead of being missed."""
    now = timezone.now()
    coming = [moment for moment in moments if moment is not None and moment > now]
    if not coming:
        return BODY_SECONDS
    return min(BODY_SECONDS, int((min(coming) - now).total_seconds()) - 1)


def clinic_changed(clinic_id: int) -> None:
    """Every stored part of the clinic's patients' pages is out of date: for a write that bypasses the ORM's save (a
    bulk import)."""
    CLINIC_PATIENT_PAGES.end(clinic_id)


def _connect_patient_rows(labels: tuple[str, ...]) -> None:
    # One receiver name for every part: a model two parts show is connected once (Django's dispatch_uid).
    generations.end_on_writes(PATIENT_PAGES, labels, "patient_page", owner_of=audit.patient_of)


def _connect_clinic_rows(labels: tuple[str, ...]) -> None:
    generations.end_on_writes(CLINIC_PATIENT_PAGES, labels, "patient_page_clinic")


def connect() -> None:
    """Connect the receivers, each for its own models (PatientsConfig.ready); the panels' models as the apps that
    add the panels declare them (a receiver for every model would keep Django from deleting any rows in bulk)."""
    _connect_patient_rows(tuple(PATIENT_ROWS))
    on_patient_panel_reads(lambda labels: shows_patient_rows("patient-page", labels))
    _connect_clinic_rows(tuple(CLINIC_ROWS))
    generations.end_on_user_renames(CLINIC_PATIENT_PAGES, "patient_page")
