"""In-clinic safety: the patient's position, the first needled session after fainting, the clean technique."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts.models import Membership
from needlepoint.visits import clinic_safety
from needlepoint.visits.actions.guard import _bump, _check_editable, _locked_visit
from needlepoint.visits.models import Visit

# --- in-clinic events: position, fainting first session, clean technique, vasovagal after-care ----------


def has_fainting_history(screening: Any) -> bool:
    """Whether the screening the gate relied on found a history of fainting (with needles, injections or
    blood). The screening question asks about ever having fainted, so the current screening carries it."""
    if screening is None:
        return False
    code = clinic_safety.packaged().first_session.screening_finding
    return any(f.get("code") == code for f in screening.findings or []) or (screening.answers or {}).get(code) == "yes"


def is_first_needled_visit(visit: Visit) -> bool:
    """No earlier visit of the patient (in any episode) has needling."""
    earlier = Visit.objects.filter(patient_id=visit.patient_id, needles_inserted__gt=0, started_at__lt=visit.started_at)
    return not earlier.exclude(pk=visit.pk).exists()


def check_fainting_first_session(visit: Visit, screening: Any, positions: Sequence[str] | None = None) -> None:
    """Refuse needling or signing the first needled visit of a patient who has fainted before unless the
    patient is recorded lying down (clinic_safety.check_first_session)."""
    positions = list(visit.patient_positions or []) if positions is None else list(positions)
    if clinic_safety.all_lying(positions) or not has_fainting_history(screening):
        return
    try:
        clinic_safety.check_first_session(
            fainting_history=True, first_needled_session=is_first_needled_visit(visit), positions=positions
        )
    except clinic_safety.FirstSessionNotLying as exc:
        raise ValidationError({"patient_positions": str(exc)}, code="refused") from exc


@transaction.atomic
def record_patient_position(
    membership: Membership, visit_id: int, positions: Sequence[str], expected_version: int
) -> Visit:
    """Record the position(s) the patient is needled in; a visit already needled keeps the first-session rule."""
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    try:
        chosen = clinic_safety.check_positions([str(p) for p in positions or []])
    except ValueError as exc:
        raise ValidationError({"patient_positions": str(exc)}) from exc
    if not chosen:
        raise ValidationError({"patient_positions": gettext("Choose the position the patient is needled in.")})
    if visit.needles_inserted:
        from needlepoint.patients.gate import needling_clearance

        check_fainting_first_session(visit, needling_clearance(visit.patient).screening, chosen)
    visit.patient_positions = chosen
    _bump(visit)
    return visit


@transaction.atomic
def record_clean_technique(
    membership: Membership,
    visit_id: int,
    *,
    items: Sequence[str] | None = None,
    gloves_worn: bool,
    expected_version: int,
) -> Visit:
    """Record the clean-technique checklist with who and when ("all done" when ``items`` is None).

    Editable only before signing (a signed visit refuses it like every other change).
    """
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    try:
        confirmed = clinic_safety.check_checklist(
            clinic_safety.all_checklist_codes() if items is None else [str(i) for i in items]
        )
    except ValueError as exc:
        raise ValidationError({"clean_technique": str(exc)}) from exc
    if not isinstance(gloves_worn, bool):
        raise ValidationError({"gloves_worn": gettext("Say whether gloves were worn.")})
    visit.clean_technique = {"items": confirmed, "gloves_worn": gloves_worn}
    visit.clean_technique_by = membership
    visit.clean_technique_at = timezone.now()
    _bump(visit)
    return visit
