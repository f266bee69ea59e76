"""Starting a visit, editing its details, the draft autosave and taking over a colleague's visit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.patients.actions import refuse_if_deceased
from needlepoint.patients.models import Episode
from needlepoint.visits.actions.guard import _bump, _check_editable, _locked_visit, conflict_message
from needlepoint.visits.inputs import SignInput, StartVisitInput, VisitDetailsInput, details_of
from needlepoint.visits.models import Intervention, Visit, VisitLocked

# --- starting and editing a visit --------------------------------------------------------------------


def _episode_start(episode: Episode) -> date:
    return timezone.localtime(episode.opened_at).date()


def _check_started_at(episode: Episode, started_at: datetime) -> dict[str, str]:
    """The visit's date against its episode (the time itself was read by ``VisitDetailsInput``)."""
    day = timezone.localtime(started_at).date()
    if day < _episode_start(episode):
        return {
            "started_at": f"The visit is dated {day:%Y-%m-%d}, before the episode began on "
            f"{_episode_start(episode):%Y-%m-%d}."
        }
    if episode.status == Episode.Status.DISCHARGED and episode.discharge_date and day > episode.discharge_date:
        return {
            "started_at": f"The episode was discharged on {episode.discharge_date:%Y-%m-%d}; "
            "open a new episode for a later visit."
        }
    return {}


# The free text a clinician types while the needles are in; saved by the draft autosave and by signing.
FREE_TEXT_FIELDS = ("subjective", "assessment", "plan")
# With the pain scores: what the page saves as a draft when it changes, and what signing takes from the page.
DRAFT_FIELDS = (*FREE_TEXT_FIELDS, "pain_before", "pain_after")

VISIT_FIELDS = tuple(VisitDetailsInput.model_fields)


def _apply_details(visit: Visit, episode: Episode, details: SignInput) -> None:
    """Set the details given on the visit; what needs the episode or the visit's other values is checked here."""
    given = details.given()
    # A new visit is dated now unless a time is given; either way its date must fit the episode.
    started_at = given.get("started_at") or (visit.started_at if visit.pk is None else None)
    errors = _check_started_at(episode, started_at) if started_at else {}
    for name, value in given.items():
        if name == "started_at":
            if value is not None and not errors:
                visit.started_at = value
            continue
        if value is None and not name.startswith("pain"):
            value = [] if name == "interventions" else ""
        setattr(visit, name, value)
    if Intervention.OTHER in visit.interventions and not visit.interventions_other:
        errors["interventions_other"] = "Name the other intervention."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def start_visit(
    membership: Membership,
    episode: Episode,
    data: VisitDetailsInput | Mapping[str, Any],
    *,
    copy_previous: bool | None = None,
    on_copy_refused: Callable[[ValidationError], None] | None = None,
) -> Visit:
    """Start a visit in an episode of care, for the acting clinician; with ``copy_previous``, from the previous
    visit's needling (``copy_previous_needling``), in the same transaction.

    A refused copy starts no visit, unless ``on_copy_refused`` is given: then the visit starts without the copy
    and hears why (the page's one-click start, whose warnings are acknowledged on the visit page). ``data`` is
    a ``StartVisitInput`` from the page or the API (a plain mapping is read with it); this checks the clinic and
    the visit's date against the episode.
    """
    require(membership, Capability.EDIT_CLINICAL)
    if episode.clinic_id != membership.clinic_id:
        raise ValidationError(gettext("This episode belongs to another clinic."))
    # A visit already started can still be documented and signed; only a new one is refused.
    refuse_if_deceased(episode.patient, gettext("no new visit can be started."))
    details = details_of(data, StartVisitInput)
    asked = isinstance(details, StartVisitInput) and details.copy_previous
    copy = asked if copy_previous is None else copy_previous
    visit = Visit(clinic_id=episode.clinic_id, patient_id=episode.patient_id, episode=episode, clinician=membership)
    visit.started_at = timezone.now()
    _apply_details(visit, episode, details)
    visit.save()
    audit.wrote(visit, created=True)
    if not copy:
        return visit
    try:
        from needlepoint.visits.actions.entries import copy_previous_needling  # entries build on this module

        with transaction.atomic():  # a savepoint: a refused copy leaves the started visit as it was
            copy_previous_needling(membership, visit.pk, visit.version)
    except ValidationError as refused:
        if on_copy_refused is None:
            raise
        on_copy_refused(refused)
    visit.refresh_from_db()
    return visit


@transaction.atomic
def update_visit(
    membership: Membership, visit_id: int, data: VisitDetailsInput | Mapping[str, Any], expected_version: int
) -> Visit:
    """Change a visit's date, pain scores, report, other interventions, assessment or plan."""
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    _apply_details(visit, visit.episode, details_of(data))
    _bump(visit)
    return visit


@transaction.atomic
def save_draft_text(
    membership: Membership, visit_id: int, text: SignInput | Mapping[str, Any], expected_version: int
) -> Visit:
    """Save the visit's free text (report, assessment, plan) as typed and the pain scores as chosen, while the
    visit is unsigned.

    The draft autosave calls this: version-checked like every other write, so a colleague's page gets a
    conflict instead of overwriting, and nothing but the free text and pain scores changes.
    """
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    draft = details_of(text, SignInput)
    if not draft.given():
        raise ValidationError(gettext("There is no report, assessment or plan to save."))
    _apply_details(visit, visit.episode, draft)
    _bump(visit)
    return visit


@transaction.atomic
def take_over_visit(membership: Membership, visit_id: int, expected_version: int) -> Visit:
    """Make the acting clinician the clinician of a colleague's unsigned visit, so they can continue and
    sign it. Recorded on the visit (from whom, when) and in the audit trail."""
    require(membership, Capability.EDIT_CLINICAL)
    visit = get_record(
        membership, Visit.objects.select_related("clinician__user"), visit_id, Capability.EDIT_CLINICAL, for_update=True
    )
    if visit.signed_at is not None:
        raise VisitLocked("This visit is signed and locked; add a dated addendum instead of taking it over.")
    if visit.clinician_id == membership.pk:
        raise ValidationError(gettext("This visit is already yours."))
    if expected_version is None or int(expected_version) != visit.version:
        raise ValidationError(conflict_message(visit, expected_version or 0), code="conflict")
    previous = visit.clinician
    visit.taken_over_from = previous
    visit.taken_over_at = timezone.now()
    visit.clinician = membership
    _bump(visit, f"visit taken over from {previous.display_name} by {membership.display_name}")
    return visit
