"""The appointment types, lengths and opening hours a clinic offers, from ``data/settings.json``.

A clinic's own entry (by slug) overrides the default one key by key. Pure module: no Django imports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import time
from functools import cache
from pathlib import Path
from typing import Any

SETTINGS_FILE = Path(__file__).parent / "data" / "settings.json"


@dataclass(frozen=True)
class AppointmentType:
    """A kind of appointment the clinic books: its code, label, proposed length and allowed lengths."""

    code: str
    label: str
    minutes: int
    lengths: tuple[int, ...]


@dataclass(frozen=True)
class BookSettings:
    """One clinic's booking settings."""

    types: tuple[AppointmentType, ...]
    day_starts: time
    day_ends: time
    reminder_hours_before: int

    def type_named(self, code: str) -> AppointmentType | None:
        """The appointment type with ``code``, if the clinic offers it."""
        return next((t for t in self.types if t.code == code), None)


@cache
def _raw() -> dict[str, Any]:
    with SETTINGS_FILE.open(encoding="utf-8") as handle:
        raw: dict[str, Any] = json.load(handle)
    return raw


@cache
def book_settings(clinic_slug: str) -> BookSettings:
    """The booking settings of the clinic with ``clinic_slug`` (the default where it has no entry)."""
    raw = _raw()
    merged = dict(raw["default"]) | raw.get("clinics", {}).get(clinic_slug, {})
    types = tuple(
        AppointmentType(t["code"], t["label"], int(t["minutes"]), tuple(int(m) for m in t["lengths"]))
        for t in merged["types"]
    )
    for t in types:
        if t.minutes not in t.lengths:
            raise ValueError(f"{SETTINGS_FILE.name}: {t.code} proposes {t.minutes} minutes, not one of {t.lengths}")
    return BookSettings(
        types=types,
        day_starts=time.fromisoformat(merged["day_starts"]),
        day_ends=time.fromisoformat(merged["day_ends"]),
        reminder_hours_before=int(merged["reminder_hours_before"]),
    )
