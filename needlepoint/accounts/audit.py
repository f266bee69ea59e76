"""The audit trail: one mechanism that records every create, read and update of patient data.

Every write action records its own entry, in its own transaction, through ``wrote`` (a record of patient data,
summarised by its ``audit_summary``) or ``record`` (anything else: a membership, a clinic setting, a token).
Reads, lists and searches are recorded by the access helper (``needlepoint.accounts.access``: ``get_record``,
``listed``, ``searched``) through ``record``, and a bulk import through ``record_many``. Nothing is recorded behind
the action's back: no save signal writes entries, so a write is in the trail because its action says so.

Who acted is passed in: a request's event asks the request (``request.audit_actor``: the session's user, set by the
middleware, or the API token's, set by its authentication), and a command or a link opened by a patient opens its
own event with its actor (``event(actor)``). So no view writes audit entries by hand, and no code sets the actor
behind the scenes.

One request is one event and leaves one entry (``event``). A write is recorded at once, inside the
write's own transaction, so a committed write always has its entry and a rolled-back one leaves none;
further writes of the same event (child rows, a version bump) add nothing. Reads, searches, exports and
refusals wait until the request ends: if nothing was written, the weightiest of them becomes the
event's one entry, and several reads of one page are folded into it.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_save

if TYPE_CHECKING:
    from needlepoint.accounts.models import AuditEntry

Saved = TypeVar("Saved", bound=models.Model)


@dataclass(frozen=True)
class Actor:
    """Who is acting now, and from where."""

    user_id: int | None
    clinic_id: int | None
    via: str  # web, api, cli, link
    client_address: str | None = None
    label: str = ""


def in_event() -> bool:
    """Whether a request, command or patient's link is being served as an audit event right now."""
    return _current_event.get() is not None


def current_actor() -> Actor | None:
    """The actor of the event being served (a request's, which its authentication may settle after the event
    began; a command's or a patient link's, named when it opened its event), if any."""
    current = _current_event.get()
    return current.actor() if current is not None and current.actor is not None else None


WRITES = frozenset({"create", "update"})
# Sign-in events are the account's own record, not a view of patient data: each is written when it happens,
# whatever else its request did (enrolling an authenticator and then signing in leaves both).
SIGN_IN_EVENTS = frozenset({"login", "login_failed", "logout"})
# When nothing was written, the one entry of an event is its weightiest other record.
_WEIGHT = {"export": 4, "denied": 3, "search": 2, "read": 1}


# A save of patient data not yet recorded by its action: the record, whether it was created, who was acting.
_Unrecorded = tuple[models.Model, bool, Actor | None]


@dataclass
class _Event:
    """What one request has recorded so far, and who is acting in it."""

    actor: Callable[[], Actor | None] | None = None
    write_entry_id: int | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)
    # The event this one runs inside (a patient's link inside its request), whose one entry this one's records
    # become part of.
    outer: _Event | None = None
    # Saves of patient data in this event that no action has recorded yet (``wrote`` takes each off), with the
    # actor of the moment: the safety net's list, settled when the event ends.
    unrecorded: dict[tuple[str, str], _Unrecorded] = field(default_factory=dict)

    def root(self) -> _Event:
        """The outermost event: the one that leaves the entry."""
        return self if self.outer is None else self.outer.root()


_current_event: contextvars.ContextVar[_Event | None] = contextvars.ContextVar("audit_event", default=None)


@contextmanager
def event(actor: Actor | Callable[[], Actor | None] | None = None) -> Iterator[None]:
    """Run one request, command or patient's link visit as one audit event: it leaves exactly one entry, or none
    if it touched no patient data.

    ``actor`` is who is acting: a command's or a link's ``Actor``, or for a request a function that answers it
    whenever something is recorded (the middleware passes the request's ``audit_actor``, which the API's token
    authentication replaces). An event opened inside another (a patient's link inside its request) names its own
    actor but is part of the outer one: the request still leaves one entry.
    """
    answer = actor if callable(actor) or actor is None else (lambda: actor)
    outer = _current_event.get()
    token = _current_event.set(_Event(answer, outer=outer))
    try:
        yield
    finally:
        found = _current_event.get()
        _current_event.reset(token)
        if found is not None and outer is None:
            _close(found)


@contextmanager
def within_event() -> Iterator[None]:
    """Run an action as one event unless it already runs inside one (a request's): for actions a command or
    a cron job calls directly, whose several writes should still leave one entry."""
    if _current_event.get() is not None:
        yield
        return
    with event():
        yield


# How a list's read entry ends when it showed nobody (``list_summary``); such parts yield to the others when a
# request's parts are joined and cut to the column's length.
NOBODY_SHOWN = ": 0 shown, patients none"


def list_summary(what: str, patient_ids: list[int], count: int) -> str:
    """The summary of a list's read: what it was, how many records it showed and whose."""
    if count == 0:
        return what + NOBODY_SHOWN
    whose = ", ".join(str(pid) for pid in patient_ids)
    return f"{what}: {count} shown, patients {whose or 'none'}"


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    summary: str = "",
    patient_id: int | None = None,
    clinic_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
) -> None:
    """Record ``action`` on ``obj`` by the current actor: at once outside a request, else as part of its event."""
    fields = _entry(
        current_actor(),
        action,
        obj,
        summary=summary,
        patient_id=patient_id,
        clinic_id=clinic_id,
        object_type=object_type,
        object_id=object_id,
    )
    current = _current_event.get()
    if current is None or action in SIGN_IN_EVENTS:
        _write(fields)
        return
    event_ = current.root()
    if action in WRITES:
        if event_.write_entry_id is None or not _still_there(event_.write_entry_id):
            event_.write_entry_id = _write(fields).pk
    else:
        event_.pending.append(fields)


# What a read keeps to be recorded again (``reads_recorded``): the entry's content but for who acted.
_READ_CONTENT = ("action", "summary", "patient_id", "object_type", "object_id")


@contextmanager
def reads_recorded() -> Iterator[list[dict[str, Any]]]:
    """Collect the reads the block records in the current event (the lists and records a page shows), as plain
    values for ``record_again``: a page served from the cache records what it shows as the page worked out did.

    Only inside an event (a request's): outside one, a read is written at once and cannot be collected.
    """
    current = _current_event.get()
    if current is None:
        raise RuntimeError("reads_recorded() needs an audit event: outside one, reads are written at once")
    pending = current.root().pending
    before = len(pending)
    collected: list[dict[str, Any]] = []
    yield collected
    collected.extend({name: fields[name] for name in _READ_CONTENT} for fields in pending[before:])


def record_again(reads: Iterable[dict[str, Any]]) -> None:
    """Record once more, by the current actor, reads collected by ``reads_recorded``."""
    for read in reads:
        record(
            read["action"],
            summary=read["summary"],
            patient_id=read["patient_id"],
            object_type=read["object_type"],
            object_id=read["object_id"],
        )


def wrote(obj: Saved, *, created: bool, summary: str | None = None, object_type: str = "") -> Saved:
    """Record that the current action created (``created``) or changed ``obj``, a record of patient data, by the
    current actor: called by the action right after its save, inside its transaction.

    The entry says what the record's ``audit_summary`` says, unless the action knows better (``summary``: a
    hand-over, a removed needling entry, a death recorded), and is ``object_type``'s if given (an import).
    Returns ``obj``, so that an action can record and return what it created in one line.
    """
    _unrecorded_in_scope().pop(_key(obj), None)
    record(
        "create" if created else "update",
        obj,
        summary=_own_summary(obj) if summary is None else summary,
        object_type=object_type,
    )
    return obj


def _own_summary(obj: models.Model) -> str:
    """What a record says of itself in the trail (its ``audit_summary``), or nothing."""
    describe = getattr(obj, "audit_summary", None)
    return str(describe()) if describe is not None else ""


def record_many(actor: Actor, action: str, obj: models.Model, patient_ids: Iterable[int], *, summary: str) -> None:
    """Record ``action`` on ``obj`` by ``actor`` once per patient it touched, at once and in one insert: a bulk
    write (an import) that wrote to many patients' records, so each patient's trail shows it.

    The entries are shaped as ``record`` shapes them and chained like every other entry.
    """
    from needlepoint.accounts.models import AuditEntry

    entries = [_entry(actor, action, obj, summary=summary, patient_id=pid) for pid in patient_ids]
    AuditEntry.objects.bulk_create([AuditEntry(**fields) for fields in entries], batch_size=1000)


def _entry(
    actor: Actor | None,
    action: str,
    obj: models.Model | None,
    *,
    summary: str = "",
    patient_id: int | None = None,
    clinic_id: int | None = None,
    object_type: str = "",
    object_id: str = "",
) -> dict[str, Any]:
    """The columns of one entry: who (``actor``, or the system), what, which record, whose."""
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
        patient_id = patient_id if patient_id is not None else patient_of(obj)
        clinic_id = clinic_id if clinic_id is not None else getattr(obj, "clinic_id", None)
    return {
        "clinic_id": clinic_id if clinic_id is not None else (actor.clinic_id if actor else None),
        "user_id": actor.user_id if actor else None,
        "actor_label": (actor.label if actor else "system")[:150],
        "action": action,
        "object_type": object_type[:60],
        "object_id": object_id[:40],
        "patient_id": patient_id,
        "summary": summary[:300],
        "via": actor.via if actor else "system",
        "client_address": actor.client_address if actor else None,
    }


def _write(fields: dict[str, Any]) -> AuditEntry:
    """Append one entry to the trail."""
    from needlepoint.accounts.models import AuditEntry

    return AuditEntry.objects.create(**fields)


def _still_there(entry_id: int) -> bool:
    """Whether an entry written earlier in this request survived (its write's transaction may have rolled back)."""
    from needlepoint.accounts.models import AuditEntry

    return AuditEntry.objects.filter(pk=entry_id).exists()


def _close(finished: _Event) -> None:
    """Write the event's one entry, unless its write already did."""
    wrote_one = finished.write_entry_id is not None and _still_there(finished.write_entry_id)
    # A write its action forgot to record is still recorded, as the event's entry if it has none yet.
    if _settle(list(finished.unrecorded.values()), record_one=not wrote_one):
        return
    if wrote_one:
        return
    if not finished.pending:
        return
    weightiest = max(finished.pending, key=lambda fields: _WEIGHT.get(fields["action"], 0))
    same = [f for f in finished.pending if f["action"] == weightiest["action"]]
    entry = dict(weightiest)
    if len(same) > 1:
        # A page that shows a visit also reads its patient and episode: one entry names them all, the
        # most specific record (the last one fetched) first, and the patient they belong to.
        entry = dict(same[-1])
        # The patient is named only when every record read was that one patient's (not a list of many).
        patients = {f["patient_id"] for f in same if f["patient_id"] is not None}
        one_patient = len(patients) == 1 and all(f["patient_id"] is not None or f["object_id"] for f in same)
        entry["patient_id"] = patients.pop() if one_patient else None
        parts = [p for p in (_describe(f) for f in reversed(same)) if p]
        # The column holds 300 characters: lists that showed nobody go last, so a page of many lists (the
        # dashboard) still names every patient it showed before anything is cut.
        parts.sort(key=lambda part: part.endswith(NOBODY_SHOWN))
        entry["summary"] = "; ".join(dict.fromkeys(parts))[:300]
    _write(entry)


def _describe(fields: dict[str, Any]) -> str:
    what = fields["summary"] or fields["object_type"]
    return f"{what} #{fields['object_id']}" if fields["object_id"] and not fields["summary"] else what


def patient_of(obj: models.Model) -> int | None:
    """The patient a record belongs to (a patient is its own; a needle-stick names its source patient)."""
    if obj._meta.label == "patients.Patient":
        return int(obj.pk)
    return getattr(obj, "patient_id", None) or getattr(obj, "source_patient_id", None)


# ---------------------------------------------------------------------------------------------- the safety net
# Every write of patient data is recorded by its action (``wrote``). Should an action forget, the save is not lost
# from the trail: a save receiver notes every save of a model with ``audit_trail``, ``wrote`` takes it off, and
# what is left when the event ends (or, outside an event, when the transaction commits) is logged as an error and
# recorded here. Under AUDIT_UNRECORDED_WRITES = "raise" (the tests) it raises instead, naming the record.

log = logging.getLogger(__name__)
_outside_events: contextvars.ContextVar[dict[tuple[str, str], _Unrecorded] | None] = contextvars.ContextVar(
    "audit_unrecorded_outside_events", default=None
)


class UnrecordedWrite(AssertionError):
    """A save of patient data whose action did not record it (raised only where the settings ask for it)."""


def _key(obj: models.Model) -> tuple[str, str]:
    return obj._meta.label, str(obj.pk)


def _unrecorded_in_scope() -> dict[tuple[str, str], _Unrecorded]:
    """The safety net's list for the current event, or for work outside any event."""
    current = _current_event.get()
    if current is not None:
        return current.root().unrecorded
    found = _outside_events.get()
    if found is None:
        found = {}
        _outside_events.set(found)
    return found


def take_unrecorded_writes() -> list[tuple[str, str]]:
    """The (model, id) of saves of patient data outside any event, in transactions not yet committed, that no action
    has recorded, and forget them: for a caller whose transactions never commit (the test suite's)."""
    found = _outside_events.get() or {}
    keys = list(found)
    found.clear()
    return keys


def _on_save(sender: type[models.Model], instance: models.Model, created: bool, raw: bool, **_: Any) -> None:
    if raw or not getattr(sender, "audit_trail", False):
        return
    outside = _current_event.get() is None
    if outside and not transaction.get_connection().in_atomic_block:
        return  # saved and committed at once, outside any action's transaction: nothing is left to settle
    scope = _unrecorded_in_scope()
    key = _key(instance)
    if key not in scope:
        scope[key] = (instance, created, current_actor())
        if outside:
            transaction.on_commit(partial(_settle_outside_events, key))


def _settle_outside_events(key: tuple[str, str]) -> None:
    left = _unrecorded_in_scope().pop(key, None)
    if left is not None:
        _settle([left], record_one=True)


def _settle(left: list[_Unrecorded], *, record_one: bool) -> bool:
    """Deal with saves no action recorded: raise (tests), or log each and record the first (if ``record_one``).
    Whether an entry was written."""
    if not left:
        return False
    names = ", ".join(f"{obj._meta.label} #{obj.pk}" for obj, _, _ in left)
    if settings.AUDIT_UNRECORDED_WRITES == "raise":
        raise UnrecordedWrite(f"saved without audit.wrote by its action: {names}")
    log.error("audit: saved without audit.wrote by its action, recorded by the safety net: %s", names)
    if not record_one:
        return False
    obj, created, actor = left[0]
    summary = f"{_own_summary(obj)} (recorded by the audit safety net: {names})"
    _write(_entry(actor, "create" if created else "update", obj, summary=summary))
    return True


def connect_safety_net() -> None:
    """Attach the safety net's save receiver once, at start-up."""
    post_save.connect(_on_save, dispatch_uid="needlepoint_audit_safety_net")
