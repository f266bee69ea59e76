"""Guards every visit write shares: the visit locked through the access helper, editable (unsigned, at the
version the clinician read), its version bumped; and the refusals they raise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.visits import safety
from needlepoint.visits.models import Visit, VisitLocked


class WarningsNeedAcknowledgement(ValidationError):
    """Safety warnings that need acknowledging before this write; ``warnings`` lists them and ``problems``
    maps a warning key to what was wrong with the acknowledgement given for it."""

    def __init__(self, warnings: Sequence[safety.SafetyWarning], problems: Mapping[str, str] | None = None) -> None:
        self.warnings = list(warnings)
        self.problems = dict(problems or {})
        super().__init__(
            [*self.problems.values()]
            + [
                f"Acknowledge this warning by choosing the precautions you take (or a reason to proceed): {w.message}"
                for w in self.warnings
            ],
            code="acknowledge",
        )


def conflict_message(visit: Visit, expected_version: int) -> str:
    """What a clinician reads when someone else saved the visit first."""
    return (
        f"Someone else changed this visit while you were editing (it is now at version {visit.version}, "
        f"you had version {expected_version}). Nothing of yours was saved and nothing of theirs was "
        "overwritten: reload the visit to see their changes, then enter yours again."
    )


# --- fetching and guarding ---------------------------------------------------------------------------


def _locked_visit(membership: Membership, visit_id: int) -> Visit:
    """The visit, row-locked for this transaction, through the access helper. An unsigned visit is
    edited by its clinician only; another clinician takes it over first (``take_over_visit``)."""
    require(membership, Capability.EDIT_CLINICAL)
    visit = get_record(
        membership,
        Visit.objects.select_related("patient__clinic", "episode", "clinician__user"),
        visit_id,
        Capability.EDIT_CLINICAL,
        for_update=True,
    )
    if visit.signed_at is None and visit.clinician_id != membership.pk:
        raise ValidationError(not_your_visit_message(visit), code="not_yours")
    return visit


def not_your_visit_message(visit: Visit) -> str:
    """What a clinician reads when they try to edit a colleague's unsigned visit."""
    return (
        f"This unsigned visit belongs to {visit.clinician.display_name}. Nothing was saved: take the visit "
        "over first if you are continuing it (the take-over is recorded on the visit and in the audit trail)."
    )


def _check_editable(visit: Visit, expected_version: int | None) -> None:
    if visit.signed_at is not None:
        raise VisitLocked(
            f"This visit was signed on {timezone.localtime(visit.signed_at):%Y-%m-%d %H:%M} and is locked; "
            "add a dated addendum to correct it."
        )
    if expected_version is None or int(expected_version) != visit.version:
        raise ValidationError(conflict_message(visit, expected_version or 0), code="conflict")


def _bump(visit: Visit, summary: str | None = None) -> None:
    """Save the visit as its next version, with its audit entry (``summary`` where the action knows better than
    the visit's own summary)."""
    visit.version += 1
    visit.save()
    audit.wrote(visit, created=False, summary=summary)
