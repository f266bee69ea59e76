"""Typed readers for environment variables that fail loudly on bad values.

Settings come from the environment (twelve-factor style). A value that cannot be read
as the type asked for stops start-up with a message naming the variable, rather than
running a health record with a silently wrong setting. Each reader also accepts
``NAME_FILE`` pointing at a file that holds the value, for secrets mounted as files.
"""

from __future__ import annotations

import os
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured


def _raw(name: str) -> str | None:
    """The variable's value, read from ``NAME_FILE`` when that is set instead."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            with open(file_path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path} cannot be read: {exc}") from exc
    return os.environ.get(name)


def env_str(name: str, default: str = "") -> str:
    """A string setting."""
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    """A boolean setting: true/false, 1/0, yes/no, on/off (any case)."""
    value = _raw(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"Unexpected value {name}={value!r}: use true or false")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    """A whole-number setting, optionally with a lower bound."""
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"Unexpected value {name}={value!r}: use a whole number") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum of {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list setting."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_timezone(name: str, default: str) -> str:
    """An IANA time-zone name (``America/New_York``, ``Europe/London``), checked against the zone database.

    The fixed offsets ``Etc/GMT+10`` and the like are refused: their sign is the reverse of what it reads
    (``Etc/GMT+10`` is ten hours behind UTC), and Django's database functions read it the other way, so the
    clinic's days would differ between the records and the reports. A place's zone says the same thing plainly."""
    value = (_raw(name) or "").strip() or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"Unexpected value {name}={value!r}: use a time-zone name such as America/New_York or Europe/London"
        ) from exc
    if re.fullmatch(r"(Etc/)?GMT[+-][1-9][0-9]*", value):
        raise ImproperlyConfigured(
            f"Unexpected value {name}={value!r}: a fixed offset's sign reads backwards; use the zone of a place "
            "with that offset, such as Pacific/Honolulu for ten hours behind UTC"
        )
    return value
