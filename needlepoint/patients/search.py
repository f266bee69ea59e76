"""Patient search by name, date of birth or MRN, shaped so every branch is an index range scan."""

from __future__ import annotations

import re
from datetime import date

from django.db import connection
from django.db.models import Q, QuerySet

from needlepoint.patients.models import Patient, normalise_name

DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MRN_LIKE = re.compile(r"^[A-Za-z]{0,6}-?\d+$")


def search_patients(patients: QuerySet[Patient], text: str, limit: int = 50) -> list[Patient]:
    """Patients matching ``text``: a birth date (YYYY-MM-DD), an MRN (or its start), or a name start.

    Names match from the start of the family or the given name, in either order ("smi", "smith j", "jo",
    "john smi"); matches are listed family name first.
    """
    text = text.strip()
    if not text:
        return []
    if DATE_PATTERN.match(text):
        try:
            birth = date.fromisoformat(text)
        except ValueError:
            return []
        return list(patients.filter(date_of_birth=birth).order_by("search_name", "pk")[:limit])
    if MRN_LIKE.match(text) and any(ch.isdigit() for ch in text):
        return list(patients.filter(starts_with("mrn", text.upper())).order_by("search_name", "pk")[:limit])
    typed = normalise_name(text)
    if not typed:
        return []
    # One range scan per word order, merged here (an OR of two ranges makes SQLite scan the whole clinic).
    found: dict[int, Patient] = {}
    for column in ("search_name", "search_given_first"):
        for patient in patients.filter(starts_with(column, typed)).order_by(column, "pk")[:limit]:
            found[patient.pk] = patient
    return sorted(found.values(), key=lambda p: (p.search_name, p.pk))[:limit]


def starts_with(field: str, prefix: str) -> Q:
    """A prefix match that the database can answer from an index.

    PostgreSQL answers LIKE 'abc%' from the varchar_pattern_ops index (migration 0002). SQLite's LIKE
    is case-insensitive and skips a plain index, so there the match is the equivalent range
    ``abc <= value < abd`` under binary collation.
    """
    if connection.vendor == "sqlite" and prefix:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return Q(**{f"{field}__gte": prefix, f"{field}__lt": upper})
    return Q(**{f"{field}__startswith": prefix})
