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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models

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


@dataclass
class _Event:
    """What one request has recorded so far, and who is acting in it."""

    actor: Callable[[], Actor | None] | None = None
    write_entry_id: int | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)
    # The event this one runs inside (a patient's link inside its request), whose one entry this one's records
    # become part of.
    outer: _Event | None = None

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


def wrote(obj: Saved, *, created: bool, summary: str | None = None, object_type: str = "") -> Saved:
    """Record that the current action created (``created``) or changed ``obj``, a record of patient data, by the
    current actor: called by the action right after its save, inside its transaction.

    The entry says what the record's ``audit_summary`` says, unless the action knows better (``summary``: a
    hand-over, a removed needling entry, a death recorded), and is ``object_type``'s if given (an import).
    Returns ``obj``, so that an action can record and return what it created in one line.
    """
    if summary is None:
        describe = getattr(obj, "audit_summary", None)
        summary = describe() if describe is not None else ""
    record("create" if created else "update", obj, summary=summary, object_type=object_type)
    return obj


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
    if finished.write_entry_id is not None and _still_there(finished.write_entry_id):
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
