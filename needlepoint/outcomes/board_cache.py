"""The dashboard's re-assessment board, kept in the shared cache (the database cache every worker reads) so a
dashboard normally reads it in one cache query instead of working out the schedule of every episode.

A stored board belongs to one membership (its role, and a one-patient limit if any) and one clinic day, and it
carries the clinic's *generation*: a value kept in the cache that every write changing the board's inputs
removes (``clinic_changed``; the receivers below call it for observations, visits, episodes including
discharge, self-report links made, used or cancelled, the clinic's instrument plans, and a patient's death).
A board stored under another generation than the clinic's current one is not shown but worked out again, so a
write made through the product shows on the next dashboard at once.

The next board read after a write starts a new generation, a fresh random value, not a count: the database cache
has no atomic increment, and two workers counting from the same value would start the same next one. A write
removes the generation when its transaction commits, so a board worked out meanwhile from the rows before the
write carries a generation that is gone and is not shown again; removing costs one query, where storing a value
costs three. A board is neither read nor stored inside a transaction (there, the transaction's own writes are
not yet announced).

Writes that bypass the ORM's save and delete (bulk imports, ``QuerySet.update``, raw SQL, the demo builder) are
not seen by the receivers: for them a stored board lives ``BOARD_SECONDS`` at most. So does the "link still out"
badge of a link that expires by the clock, with no write.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save, pre_save

from needlepoint.accounts.models import Membership

logger = logging.getLogger(__name__)

BOARD_SECONDS = 5 * 60  # the backstop for writes the receivers cannot see
GENERATION_SECONDS = 7 * 24 * 3600
BOARD_FORMAT = 2  # part of the key: a release that changes the stored shape or length never reads an older one


def generation_key(clinic_id: int) -> str:
    """The cache key of a clinic's generation."""
    return f"outcomes-board-generation:{clinic_id}"


def board_key(membership: Membership, today: date) -> str:
    """The cache key of a membership's board on a clinic day."""
    only = getattr(membership, "only_patient_id", None)
    return f"outcomes-board:{BOARD_FORMAT}:{membership.pk}:{membership.role}:{only or '-'}:{today.isoformat()}"


def stored_board(membership: Membership, today: date, work_out: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The membership's board for ``today``: the stored one while the clinic's generation is unchanged (one cache
    query), else ``work_out()``, stored for ``BOARD_SECONDS`` under the generation read before it was worked out.

    ``work_out`` returns plain values only (numbers, text, dates, lists, dicts), so a stored board never holds a
    model instance from an older release.
    """
    if connection.in_atomic_block:
        return work_out()
    try:
        generation, board = _stored(membership, today)
    except Exception:  # an unreachable cache or an unreadable value: the board is worked out, the page still shown
        logger.warning("dashboard board cache unreadable; working the board out", exc_info=True)
        return work_out()
    if generation is not None and isinstance(board, dict) and board.get("generation") == generation:
        return board
    try:
        if generation is None:
            # The first board since a write (or since the generation was culled): start one. Another worker may
            # have started it meanwhile; then that one is the clinic's.
            generation = secrets.token_hex(8)
            if not cache.add(generation_key(membership.clinic_id), generation, GENERATION_SECONDS):
                generation = cache.get(generation_key(membership.clinic_id))
    except Exception:
        logger.warning("dashboard board cache unwritable; the board is not stored", exc_info=True)
        return work_out()
    board = work_out()
    if generation is not None:
        try:
            cache.set(board_key(membership, today), {**board, "generation": generation}, BOARD_SECONDS)
        except Exception:
            logger.warning("dashboard board cache unwritable; the board is not stored", exc_info=True)
    return board


def _stored(membership: Membership, today: date) -> tuple[Any, Any]:
    """The clinic's current generation and the membership's stored board (each None when absent): one query."""
    gen_key, key = generation_key(membership.clinic_id), board_key(membership, today)
    found = cache.get_many([gen_key, key])
    return found.get(gen_key), found.get(key)


def clinic_changed(clinic_id: int) -> None:
    """The clinic's boards are out of date: end the clinic's generation when the current transaction commits (at
    once outside a transaction). Announced once per transaction, however many rows it writes."""
    if connection.in_atomic_block and any(
        isinstance(callback, _NewGeneration) and callback.clinic_id == clinic_id
        for _, callback, *_ in connection.run_on_commit
    ):
        return
    # robust: the write has committed by then; should the cache be unreachable, the write still succeeds (its
    # change shows once the stored boards expire) rather than answering with an error.
    transaction.on_commit(_NewGeneration(clinic_id), robust=True)


class _NewGeneration:
    """The commit hook that ends a clinic's generation (an object, so a transaction announces a clinic once)."""

    def __init__(self, clinic_id: int) -> None:
        self.clinic_id = clinic_id

    def __call__(self) -> None:
        cache.delete(generation_key(self.clinic_id))


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


def _clinic_of(instance: Model) -> int:
    return int(instance.serializable_value("clinic"))


def _saving(sender: type[Model], instance: Model, raw: bool = False, update_fields: Any = None, **_: Any) -> None:
    """Before a visit or a patient is saved: announce the change if a field the board reads changes."""
    if raw:
        return
    label = sender._meta.label
    fields = _READ_FIELDS[label]
    if instance._state.adding or instance.pk is None:
        if label in _NEW_ROW_CHANGES:
            clinic_changed(_clinic_of(instance))
        return
    if update_fields is not None and not {f.removesuffix("_id") for f in fields} & {
        f.removesuffix("_id") for f in update_fields
    }:
        return
    before = sender._default_manager.filter(pk=instance.pk).values_list(*fields).first()
    if before != tuple(getattr(instance, f) for f in fields):
        clinic_changed(_clinic_of(instance))


def _saved(sender: type[Model], instance: Model, raw: bool = False, **_: Any) -> None:
    """After a row the board always reads is saved: announce the change."""
    if not raw:
        clinic_changed(_clinic_of(instance))


def _deleted(sender: type[Model], instance: Model, **_: Any) -> None:
    """After a row the board reads is deleted: announce the change."""
    clinic_changed(_clinic_of(instance))


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
