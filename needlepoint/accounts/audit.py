"""The audit trail: one mechanism that records every create, read and update of patient data.

Writes are caught by one ``post_save`` receiver for every model that declares ``audit_trail = True``;
reads are recorded by the access helper (``needlepoint.accounts.access``) through ``record``. Who acted
comes from ``current_actor``, set once per request by middleware (pages), by token authentication (API),
by the patient-link views, or by the ``needlepoint`` command, so no view writes audit entries by hand.

One request is one event and leaves one entry (``event``). A write is recorded at once, inside the
write's own transaction, so a committed write always has its entry and a rolled-back one leaves none;
further writes of the same event (child rows, a version bump) add nothing. Reads, searches, exports and
refusals wait until the request ends: if nothing was written, the weightiest of them becomes the
event's one entry, and several reads of one page are folded into it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models.signals import post_save


@dataclass(frozen=True)
class Actor:
    """Who is acting now, and from where."""

    user_id: int | None
    clinic_id: int | None
    via: str  # web, api, cli, link
    client_address: str | None = None
    label: str = ""


_current_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


def current_actor() -> Actor | None:
    """The actor of the request or command being served, if any."""
    return _current_actor.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run a block with ``actor`` as the one recorded in the audit trail."""
    token = _current_actor.set(actor)
    try:
        yield actor
    finally:
        _current_actor.reset(token)


WRITES = frozenset({"create", "update"})
# Sign-in events are the account's own record, not a view of patient data: each is written when it happens,
# whatever else its request did (enrolling an authenticator and then signing in leaves both).
SIGN_IN_EVENTS = frozenset({"login", "login_failed", "logout"})
# When nothing was written, the one entry of an event is its weightiest other record.
_WEIGHT = {"export": 4, "denied": 3, "search": 2, "read": 1}


@dataclass
class _Event:
    """What one request has recorded so far."""

    write_entry_id: int | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)


_current_event: contextvars.ContextVar[_Event | None] = contextvars.ContextVar("audit_event", default=None)
_next_save_summary: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "audit_summary", default=None
)


@contextmanager
def event() -> Iterator[None]:
    """Run one request as one audit event: it leaves exactly one entry, or none if it touched no patient data."""
    token = _current_event.set(_Event())
    try:
        yield
    finally:
        found = _current_event.get()
        _current_event.reset(token)
        if found is not None:
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


@contextmanager
def describing(summary: str, *, object_type: str = "") -> Iterator[None]:
    """Saves inside the block record ``summary`` (and ``object_type``, if given) instead of the record's own.

    For actions whose meaning the saved row cannot tell (a hand-over, a removed needling entry, an import).
    """
    token = _next_save_summary.set((summary, object_type))
    try:
        yield
    finally:
        _next_save_summary.reset(token)


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
    actor = current_actor()
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
        patient_id = patient_id if patient_id is not None else patient_of(obj)
        clinic_id = clinic_id if clinic_id is not None else getattr(obj, "clinic_id", None)
    fields = {
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
    current = _current_event.get()
    if current is None or action in SIGN_IN_EVENTS:
        _write(fields)
    elif action in WRITES:
        if current.write_entry_id is None or not _still_there(current.write_entry_id):
            current.write_entry_id = _write(fields).pk
    else:
        current.pending.append(fields)


def _write(fields: dict[str, Any]):  # type: ignore[no-untyped-def]
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
        parts = [_describe(f) for f in reversed(same)]
        entry["summary"] = "; ".join(dict.fromkeys(p for p in parts if p))[:300]
    _write(entry)


def _describe(fields: dict[str, Any]) -> str:
    what = fields["summary"] or fields["object_type"]
    return f"{what} #{fields['object_id']}" if fields["object_id"] and not fields["summary"] else what


def patient_of(obj: models.Model) -> int | None:
    """The patient a record belongs to (a patient is its own; a needle-stick names its source patient)."""
    if obj._meta.label == "patients.Patient":
        return obj.pk
    return getattr(obj, "patient_id", None) or getattr(obj, "source_patient_id", None)


def _on_save(sender: type[models.Model], instance: models.Model, created: bool, raw: bool, **_: Any) -> None:
    if raw or not getattr(sender, "audit_trail", False):
        return
    describe = getattr(instance, "audit_summary", None)
    summary, object_type = _next_save_summary.get() or (describe() if describe else "", "")
    record("create" if created else "update", instance, summary=summary, object_type=object_type)


def connect_signals() -> None:
    """Attach the write receiver once, at start-up."""
    post_save.connect(_on_save, dispatch_uid="needlepoint_audit_on_save")
    _let_sqlite_flush_empty_the_trail()


def _let_sqlite_flush_empty_the_trail() -> None:
    """``flush`` (wipe the whole database: tests, ``manage.py flush``) empties the trail on SQLite too.

    PostgreSQL flushes with TRUNCATE, which the append-only row trigger does not see; SQLite flushes with
    DELETE, which the trigger refuses. So on SQLite a flush that includes the trail drops the triggers,
    deletes, and creates them again, in flush's one transaction. Ordinary DELETE and UPDATE stay refused.
    """
    import importlib

    from django.conf import settings

    if not any(db["ENGINE"] == "django.db.backends.sqlite3" for db in settings.DATABASES.values()):
        return
    from django.db.backends.sqlite3.base import DatabaseWrapper

    operations = DatabaseWrapper.ops_class
    original = operations.sql_flush
    if getattr(original, "keeps_audit_triggers", False):
        return
    migration = importlib.import_module("needlepoint.accounts.migrations.0002_audit_append_only")

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):  # type: ignore[no-untyped-def]
        statements = original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        if not any('"accounts_auditentry"' in statement for statement in statements):
            return statements
        return [*migration.SQLITE_DOWN, *statements, *migration.SQLITE_UP]

    sql_flush.keeps_audit_triggers = True  # type: ignore[attr-defined]
    operations.sql_flush = sql_flush  # type: ignore[method-assign]
