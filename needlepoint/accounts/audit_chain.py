"""The audit trail's hash chain: each entry's hash covers its content and the hash of the entry before it.

One chain for the whole database, in id order. Changing an entry's content breaks its own hash; removing an
entry breaks the link of the one after it; so ``needlepoint audit verify`` can name the first entry that no
longer fits. Someone who can rewrite every later hash could forge a consistent chain, which is why the head
hash that ``verify`` prints is worth keeping outside the database (the nightly backup log does).

Pure: imports nothing from Django, so the migration that back-fills the chain and the verifier agree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The "previous hash" of the first entry in the database.
GENESIS = "0" * 64

# The columns a hash covers, in this order. Changing this list changes every hash: don't.
CHAINED_FIELDS = (
    "clinic_id",
    "user_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "summary",
    "via",
    "client_address",
    "at",
)


def _canonical_time(value: datetime) -> str:
    """The entry time as UTC with microseconds, the precision both databases keep."""
    if value.tzinfo is None:
        # Stored times are UTC; a naive one comes from a database connection without time-zone support.
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(previous_hash: str, content: dict[str, Any]) -> str:
    """The SHA-256 (hex) of one entry's content chained to ``previous_hash``."""
    values: list[Any] = [previous_hash]
    for name in CHAINED_FIELDS:
        value = content.get(name)
        values.append(_canonical_time(value) if isinstance(value, datetime) else value)
    text = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    """The first entry that does not fit the chain, and why."""

    entry_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """What a walk of the chain found: how many entries, the head hash, and the first broken link if any."""

    entries: int
    head_hash: str
    broken: BrokenLink | None


def walk(rows: Iterable[dict[str, Any]]) -> ChainReport:
    """Check entries given in id order (each a dict with ``id``, ``previous_hash``, ``entry_hash`` and the
    chained fields); stop at the first that does not fit."""
    expected_previous = GENESIS
    count = 0
    for row in rows:
        count += 1
        if row["previous_hash"] != expected_previous:
            reason = (
                "its link to the entry before it is broken: an earlier entry was removed, inserted or rewritten"
                if row["previous_hash"]
                else "it carries no hash: it was written around the application"
            )
            return ChainReport(count, expected_previous, BrokenLink(row["id"], reason))
        if entry_hash(row["previous_hash"], row) != row["entry_hash"]:
            reason = "its content was changed after it was written (the hash no longer matches)"
            return ChainReport(count, expected_previous, BrokenLink(row["id"], reason))
        expected_previous = row["entry_hash"]
    return ChainReport(count, expected_previous, None)


def chain(previous_hash: str, contents: Iterable[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(previous hash, entry hash) for each of ``contents`` in order, starting after ``previous_hash``."""
    for content in contents:
        digest = entry_hash(previous_hash, content)
        yield previous_hash, digest
        previous_hash = digest
