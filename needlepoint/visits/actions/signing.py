"""Signing a visit (warnings and counts checked again, CPT chosen, note fixed) and addenda to a signed one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.visits import accountability
from needlepoint.visits.actions.entries import Acknowledgements, _needling_checks
from needlepoint.visits.actions.guard import _bump, _check_editable, _locked_visit
from needlepoint.visits.actions.visit import _apply_details
from needlepoint.visits.inputs import SignInput, details_of
from needlepoint.visits.models import Addendum, Visit, VisitLocked
from needlepoint.visits.summary import incident_of, reconciliation_of, render_note

# Sent inside ``sign_visit``'s transaction, after the signature and its audit entry, with the signed ``visit``: apps
# above visits finish what the signature ends (scheduling completes the appointment the visit started from), while
# the visit code stays unaware of them. Sent after the entry, so the event's one entry is the signature.
visit_signed = Signal()

# --- signing and addenda -----------------------------------------------------------------------------


@transaction.atomic
def sign_visit(
    membership: Membership,
    visit_id: int,
    expected_version: int,
    acknowledgements: Acknowledgements | None = None,
    text: SignInput | Mapping[str, Any] | None = None,
) -> Visit:
    """Sign the visit: the warnings are checked again, the needles must be reconciled (or a 'needle
    unaccounted for' incident recorded), the CPT code is chosen and the note is fixed. Signing locks it.

    ``text`` is the report, assessment and plan as they stand on the clinician's page: saved in the same
    transaction, so what was typed is what is signed (or nothing is saved and the page keeps it).
    """
    visit = _locked_visit(membership, visit_id)
    if visit.signed_at is not None:
        raise VisitLocked(
            f"This visit was already signed on {timezone.localtime(visit.signed_at):%Y-%m-%d %H:%M} by "
            f"{visit.signed_by.display_name if visit.signed_by else 'a clinician'}."
        )
    _check_editable(visit, expected_version)
    if visit.clinician_id != membership.pk:
        raise ValidationError(
            gettext(
                "Only the treating clinician (%(clinician)s) can sign this visit; add an addendum once it is signed."
            )
            % {"clinician": visit.clinician.display_name}
        )
    if text:
        _apply_details(visit, visit.episode, details_of(text, SignInput))
    entries = list(visit.needling_entries.order_by("position", "pk"))
    if entries:
        documented_at = max(e.recorded_at for e in entries)
        visit.acknowledgements = _needling_checks(membership, visit, entries, acknowledgements, at=documented_at)
    reconciliation = reconciliation_of(visit)
    allowed, message = accountability.can_sign(reconciliation, incident_of(visit))
    if not allowed:
        raise ValidationError({"needles": message})
    from needlepoint.visits.cpt import choose_cpt

    choice = choose_cpt(entries)
    visit.cpt_code = choice.code if choice else ""
    visit.cpt_muscle_count = choice.muscle_count if choice else None
    visit.signed_by = membership
    visit.signed_at = timezone.now()
    visit.note_text = render_note(visit, entries)
    _bump(visit)
    visit_signed.send(Visit, visit=visit)
    return visit


@transaction.atomic
def add_addendum(membership: Membership, visit_id: int, text: str) -> Addendum:
    """A dated correction or addition to a signed visit, by its signer or another clinician."""
    require(membership, Capability.EDIT_CLINICAL)
    visit = get_record(membership, Visit.objects.all(), visit_id, Capability.EDIT_CLINICAL)
    if visit.signed_at is None:
        raise ValidationError(gettext("The visit is not signed yet: edit it directly instead of adding an addendum."))
    text = str(text or "").strip()
    if len(text) < 3:
        raise ValidationError({"text": gettext("Write the correction or addition.")})
    if len(text) > 5000:
        raise ValidationError({"text": gettext("Keep an addendum under 5000 characters.")})
    return audit.wrote(
        Addendum.objects.create(
            clinic_id=visit.clinic_id, patient_id=visit.patient_id, visit=visit, author=membership, text=text
        ),
        created=True,
    )
