"""Patient search by name, date of birth, MRN or phone, shaped so every branch is an index range scan;
and the registration's duplicate check."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Q, QuerySet

if TYPE_CHECKING:
    from needlepoint.accounts.models import Membership

from needlepoint.accounts.access import patients_for, searched
from needlepoint.patients.models import Patient, RecentPatient, normalise_name, phone_digits

DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MRN_LIKE = re.compile(r"^[A-Za-z]{0,6}-?\d+$")
# Digits with the punctuation people write phone numbers with: "+1 (555) 201-3344", "555.201.3344".
PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")
PHONE_MIN_DIGITS = 4
# A number is matched on its last ten digits at most, so "+1 555 201 3344" finds "(555) 201-3344" and
# "+44 20 7946 0958" finds "020 7946 0958": a country code or a trunk 0 in front does not matter.
PHONE_TAIL = 10
# Two phones are the same for the duplicate check when their last seven or more digits agree.
SAME_PHONE_MIN_DIGITS = 7


def find_patients(
    membership: Membership, text: str, *, limit: int = 50, purpose: str = "patient search"
) -> list[Patient]:
    """The clinic's patients this membership may list that match ``text`` (``search_patients``), recorded as
    one search named by ``purpose`` with how many were found."""
    found = search_patients(patients_for(membership), text, limit=limit)
    searched(found, f"{purpose} ({len(found)} found)", object_type="patients.Patient")
    return found


def search_patients(patients: QuerySet[Patient], text: str, limit: int = 50) -> list[Patient]:
    """Patients matching ``text``: a birth date (YYYY-MM-DD), an MRN (or its start), a phone number (its start
    or its end, any formatting), or a name start.

    Names match from the start of the family or the given name, in either order ("smi", "smith j", "jo",
    "john smi", "Smith, J" as the list shows it), whatever the accents or apostrophes ("José" = "Jose",
    "O’Brien" = "O'Brien"); matches are listed family name first.
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
    is_mrn = bool(MRN_LIKE.match(text)) and any(ch.isdigit() for ch in text)
    digits = phone_digits(text)
    is_phone = bool(PHONE_LIKE.match(text)) and len(digits) >= PHONE_MIN_DIGITS
    if is_mrn or is_phone:
        # A run of digits may be an imported MRN or a phone number: both are looked up and merged.
        scans = [(starts_with("mrn", text.upper()), "mrn")] if is_mrn else []
        if is_phone:
            scans += phone_scans(digits)
        return _merged(patients, scans, limit)
    typed = normalise_name(text)
    if not typed:
        return []
    # One range scan per word order, merged here (an OR of two ranges makes SQLite scan the whole clinic).
    return _merged(
        patients,
        [
            (starts_with("search_name", typed), "search_name"),
            (starts_with("search_given_first", typed), "search_given_first"),
        ],
        limit,
    )


def phone_scans(digits: str) -> list[tuple[Q, str]]:
    """Two index range scans for a typed number: numbers that start with it, and numbers that end with its
    last ten digits (the end is matched on the reversed digits, so it is a prefix too)."""
    tail = digits[-PHONE_TAIL:]
    return [
        (range_prefix("phone_digits", digits), "phone_digits"),
        (range_prefix("phone_digits_reversed", tail[::-1]), "phone_digits_reversed"),
    ]


def _merged(patients: QuerySet[Patient], scans: list[tuple[Q, str]], limit: int) -> list[Patient]:
    """The union of several index scans, each read in its index order, listed by name."""
    found: dict[int, Patient] = {}
    for condition, column in scans:
        for patient in patients.filter(condition).order_by(column, "pk")[:limit]:
            found[patient.pk] = patient
    return sorted(found.values(), key=lambda p: (p.search_name, p.pk))[:limit]


def recent_patients(patients: QuerySet[Patient], membership_id: int, limit: int = 10) -> list[Patient]:
    """The patients this member opened most recently, latest first (two queries, from the member's index).

    ``patients`` is the member's searchable set (from the access helper), so a patient of another clinic, or
    one the member may no longer list, never appears.
    """
    opened = list(
        RecentPatient.objects.filter(membership_id=membership_id)
        .order_by("-opened_at", "-pk")
        .values_list("patient_id", flat=True)[:limit]
    )
    if not opened:
        return []
    by_id = {p.pk: p for p in patients.filter(pk__in=opened)}
    return [by_id[pk] for pk in opened if pk in by_id]


def possible_duplicates(
    patients: QuerySet[Patient],
    given_name: str,
    family_name: str,
    date_of_birth: date | None,
    phone: str,
    limit: int = 10,
) -> list[Patient]:
    """Patients that may be the one being registered: the same name and birth date, or the same phone.

    The name is compared as searched (accents, apostrophes and case aside), in either order, so "Rosa
    Márquez" and "Marquez, Rosa" born the same day are one person; phones agree on their last digits (at
    least seven), so a country code or formatting does not hide a match.
    """
    found: dict[int, Patient] = {}
    if date_of_birth is not None:
        names = {normalise_name(f"{family_name} {given_name}"), normalise_name(f"{given_name} {family_name}")}
        for patient in patients.filter(date_of_birth=date_of_birth, search_name__in=names).order_by("pk")[:limit]:
            found[patient.pk] = patient
    digits = phone_digits(phone)
    if len(digits) >= SAME_PHONE_MIN_DIGITS:
        # Every number ending in the same seven digits, then the longer common tail decides (a few rows).
        ending = digits[-SAME_PHONE_MIN_DIGITS:][::-1]
        for patient in patients.filter(range_prefix("phone_digits_reversed", ending)).order_by("pk")[:50]:
            if same_phone(patient.phone_digits, digits):
                found[patient.pk] = patient
    return sorted(found.values(), key=lambda p: (p.search_name, p.pk))[:limit]


def same_phone(a: str, b: str) -> bool:
    """Whether two numbers' digits are one phone: their common tail (up to ten digits, at least seven) agrees."""
    length = min(len(a), len(b), PHONE_TAIL)
    return length >= SAME_PHONE_MIN_DIGITS and a[-length:] == b[-length:]


def range_prefix(field: str, digits: str) -> Q:
    """Numbers starting with ``digits``, as the range ``555 <= value < 556``, which a plain index answers.

    The bound is made of digits only (a trailing 9 carries: "5559" ends before "556"), because digits sort the
    same under every collation while the character after "9" does not (PostgreSQL's locales skip punctuation).
    """
    stem = digits.rstrip("9")
    if not stem:
        return Q(**{f"{field}__gte": digits})
    upper = stem[:-1] + str(int(stem[-1]) + 1)
    return Q(**{f"{field}__gte": digits, f"{field}__lt": upper})


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
