"""Rules for text that arrives from outside (forms, query strings, JSON, headers) and text that leaves in files
other programs open (CSV): pure functions, nothing from Django, so every surface applies the same rule.

Each rule answers one way a server error or a surprise was found (issue 11, finding 7): a NUL character that
PostgreSQL refuses to store, other scripts' digits that ``int()`` reads or refuses inconsistently, numbers
beyond a 64-bit id, dates at the calendar's edge where adding a day overflows, and spreadsheet formulas.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from typing import Any

NUL = "\x00"

# Record ids are 64-bit signed integers in PostgreSQL (bigint) and SQLite; a larger number names nothing.
LARGEST_ID = 2**63 - 1

# Dates a clinic can mean: a date of birth from 1900, a report up to the end of the 2990s. Beyond these, date
# arithmetic (the day after 9999-12-31) and time-zone conversion overflow.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)

# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection"); tab and carriage
# return are included because some spreadsheets skip them and then read the formula character after them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def has_nul(text: str) -> bool:
    """Whether text holds a NUL character, which no field of ours may store (PostgreSQL refuses it)."""
    return NUL in text


def has_lone_surrogate(text: str) -> bool:
    """Whether text holds a UTF-16 surrogate on its own (JSON can write one as \\udc00): it has no UTF-8 form,
    so the database driver cannot store it."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def whole_number(text: str, *, smallest: int = -LARGEST_ID, largest: int = LARGEST_ID) -> int | None:
    """The whole number written in ASCII digits (an optional leading minus), within bounds; else None.

    ``int()`` alone reads Arabic-Indic or full-width digits and raises on superscripts, both of which
    ``str.isdigit()`` calls digits; an id or count typed into a form or address is ASCII.
    """
    text = text.strip()
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None
    number = int(text)
    return number if smallest <= number <= largest else None


# Dates no field can mean at all, refused for every request before any view: between these, adding a day or
# converting a time zone cannot overflow, and each field gives its own finer message (a birth date before 1900).
FIRST_ACCEPTED_DATE = date(1000, 1, 1)
LAST_ACCEPTED_DATE = date(8999, 12, 31)


def acceptable_date(day: date) -> bool:
    """Whether any field could mean this date (see FIRST_ACCEPTED_DATE, LAST_ACCEPTED_DATE)."""
    return FIRST_ACCEPTED_DATE <= day <= LAST_ACCEPTED_DATE


def sensible_date(day: date) -> bool:
    """Whether a date lies in the range a clinic record or report can mean (see EARLIEST_DATE, LATEST_DATE)."""
    return EARLIEST_DATE <= day <= LATEST_DATE


def date_range_message() -> str:
    """The words used when a date falls outside the sensible range."""
    return f"Use a date from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}."


def csv_cell(value: object) -> str:
    """A value as a CSV cell that no spreadsheet will run: text starting like a formula gets a leading quote.

    The apostrophe is what spreadsheets themselves use to mark a cell as text; the value stays readable and a
    reader can strip it. Numbers are written as numbers (a negative number is not text).
    """
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeCsvWriter:
    """A csv.writer whose every cell goes through ``csv_cell``: the one way our CSV exports are written."""

    def __init__(self, file: Any) -> None:
        self._writer = csv.writer(file)

    def writerow(self, row: Iterable[object]) -> Any:
        """Write one row of neutralised cells; returns what the file's write returned (for streaming)."""
        return self._writer.writerow([csv_cell(value) for value in row])


def csv_writer(file: Any) -> SafeCsvWriter:
    """A CSV writer for an export a person may open in a spreadsheet."""
    return SafeCsvWriter(file)
