"""The dashboard's re-assessment board, kept in the shared cache (``accounts.generations``: the database cache
every worker reads) so a dashboard normally reads it in one cache query instead of working out the schedule of
every episode.

A stored board belongs to one membership (its role, and a one-patient limit if any) and one clinic day, and it
carries the clinic's board generation (``BOARD``), which every write changing the board's inputs ends
(``clinic_changed``; the receivers below call it for observations, visits, episodes including discharge,
self-report links made, used or cancelled, the clinic's instrument plans, and a patient's death). So a write made
through the product shows on the next dashboard at once; a write that bypasses the ORM (a bulk import, the demo
builder) calls ``clinic_changed`` itself, or shows once the stored board expires (``BOARD_SECONDS``). So does the
"link still out" badge of a link that expires by the clock, with no write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db.models import Model
from django.db.models.signals import post_delete, post_save, pre_save

from needlepoint.accounts import generations
from needlepoint.accounts.models import Membership
from needlepoint.visits.dashboard import DASHBOARD

BOARD_SECONDS = 5 * 60  # the backstop for writes the receivers cannot see
BOARD_FORMAT = 3  # part of the key: a release that changes the stored shape or length never reads an older one
BOARD = generations.Generation("outcomes-board")


def board_key(membership: Membership, today: date) -> str:
    """The cache key of a membership's board on a clinic day."""
    return generations.membership_day_key("outcomes-board", BOARD_FORMAT, membership, today)


def stored_board(membership: Membership, today: date, work_out: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The membership's board for ``today``: the stored one while the clinic's board generation is unchanged (one
    cache query), else ``work_out()`` (plain values only), stored for ``BOARD_SECONDS``."""
    return generations.stored([(BOARD, membership.clinic_id)], board_key(membership, today), work_out, BOARD_SECONDS)


def clinic_changed(clinic_id: int) -> None:
    """The clinic's boards are out of date: end its board generation when the current transaction commits, and the
    dashboard's, whose stored lists show the board."""
    BOARD.end(clinic_id)
    DASHBOARD.end(clinic_id)


# ------------------------------------------------------------------------------------------------ the receivers

# A visit or a patient is saved for many reasons the board does not read (a visit's note, a patient's address):
# only a change of these fields, a new visit or a deleted row changes the board (a new patient has no episode).
_READ_FIELDS: dict[str, tuple[str, ...]] = {
    "visits.Visit": ("started_at", "clinician_id", "episode_id"),
    "patients.Patient": ("deceased",),
}
_NEW_ROW_CHANGES = {"visits.Visit"}
# Every change of these rows may change the board.
_ALWAYS = ("outcomes.Observation", "outcomes.SelfReportLink", "outcomes.ClinicInstrumentPlan", "patients.Episode")


def _saving(sender: type[Model], instance: Model, raw: bool = False, update_fields: Any = None, **_: Any) -> None:
    """Before a visit or a patient is saved: announce the change if a field the board reads changes."""
    label = sender._meta.label
    new_row_changes = label in _NEW_ROW_CHANGES
    if not raw and generations.saving_changes(
        sender, instance, _READ_FIELDS[label], update_fields, new_row_changes=new_row_changes
    ):
        clinic_changed(generations.clinic_of(instance))


def _saved(sender: type[Model], instance: Model, raw: bool = False, **_: Any) -> None:
    """After a row the board always reads is saved: announce the change."""
    if not raw:
        clinic_changed(generations.clinic_of(instance))


def _deleted(sender: type[Model], instance: Model, **_: Any) -> None:
    """After a row the board reads is deleted: announce the change."""
    clinic_changed(generations.clinic_of(instance))


def connect() -> None:
    """Connect the receivers (OutcomesConfig.ready)."""
    from django.apps import apps

    for label in _READ_FIELDS:
        model = apps.get_model(label)
        pre_save.connect(_saving, sender=model, dispatch_uid=f"outcomes_board_saving_{label}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"outcomes_board_deleted_{label}")
    for label in _ALWAYS:
        model = apps.get_model(label)
        post_save.connect(_saved, sender=model, dispatch_uid=f"outcomes_board_saved_{label}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"outcomes_board_deleted_{label}")
