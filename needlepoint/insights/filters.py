"""What the evidence report covers: the clinic, and optional filters by condition, clinician, dates, muscle
needled, technique and imported cohort, plus the report's own choices (responder rule, missing follow-up policy,
smallest group shown). Parsed from a page's GET parameters or the command line, with a clear message for each
bad value, and turned into the querysets every figure starts from.

Episode figures cover the episodes opened in the date range and attributed to a clinician by who opened them;
visit figures (adverse-event rates) cover the visits given in the date range, by the clinician who gave them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from django.db.models import Case, Exists, Model, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from needlepoint.accounts.models import Membership
from needlepoint.atlas.catalogue import muscles
from needlepoint.inputs import date_range_message, sensible_date, whole_number
from needlepoint.insights.responders import MissingPolicy, ResponderRule, parse_missing_policy, parse_rule
from needlepoint.insights.suppression import DEFAULT_MINIMUM_N
from needlepoint.patients.conditions import conditions
from needlepoint.patients.models import Episode
from needlepoint.visits.models import NeedlingEntry, Technique, Visit

MAXIMUM_MINIMUM_N = 1000

Row = TypeVar("Row", bound=Model)


class FilterError(ValueError):
    """One or more report filters are not acceptable; ``errors`` maps each field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class ReportFilters:
    """The clinic a report covers and the optional filters; empty strings and None mean "all"."""

    clinic_id: int
    condition: str = ""
    clinician_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    muscle: str = ""
    technique: str = ""
    cohort: str | None = None  # an imported cohort's label; None for every episode

    def describe(self) -> str:
        """The filters in words, for the page, the PDF and the command line."""
        parts = []
        if self.condition:
            parts.append(f"condition {conditions()[self.condition].label}")
        if self.clinician_id is not None:
            parts.append(f"clinician #{self.clinician_id}")
        if self.date_from or self.date_to:
            parts.append(f"from {self.date_from or 'the start'} to {self.date_to or 'today'}")
        if self.muscle:
            parts.append(f"muscle {muscles()[self.muscle].name}")
        if self.technique:
            parts.append(f"technique {Technique(self.technique).label.lower()}")
        if self.cohort is not None:
            parts.append(f"imported cohort {self.cohort}")
        return "; ".join(parts) if parts else "all episodes of the clinic"

    @property
    def needling_filter(self) -> bool:
        """Whether a muscle or technique filter limits the report to needled care."""
        return bool(self.muscle or self.technique)


@dataclass(frozen=True)
class ReportOptions:
    """The report's own choices: responder rule, missing follow-up policy and smallest group shown."""

    rule: ResponderRule = field(default_factory=lambda: parse_rule("mcid"))
    rule_text: str = "mcid"
    missing: MissingPolicy = MissingPolicy.ITT
    minimum_n: int = DEFAULT_MINIMUM_N


def parse_filters(clinic_id: int, params: Mapping[str, str]) -> tuple[ReportFilters, ReportOptions]:
    """Filters and options from GET parameters (or CLI values); raises FilterError naming every bad field."""
    errors: dict[str, str] = {}
    text = {key: (params.get(key) or "").strip() for key in _FIELDS}
    filters = ReportFilters(clinic_id=clinic_id)
    condition = text["condition"]
    if condition and condition not in conditions():
        errors["condition"] = f"Unknown condition {condition!r}; choose one of {', '.join(conditions())}."
    elif condition:
        filters = replace(filters, condition=condition)
    clinician = text["clinician"]
    if clinician and any(ch.isdigit() and not ch.isascii() for ch in clinician):
        errors["clinician"] = "Give the clinician's number with the ASCII digits 0-9, or their username."
    elif clinician:
        found = _clinician(clinic_id, clinician)
        if found is None:
            errors["clinician"] = f"No clinician {clinician!r} in this clinic."
        else:
            filters = replace(filters, clinician_id=found)
    for key in ("date_from", "date_to"):
        if text[key]:
            try:
                day = date.fromisoformat(text[key])
            except ValueError:
                errors[key] = f"{text[key]!r} is not a date; use YYYY-MM-DD."
                continue
            if sensible_date(day):
                filters = replace(filters, date_from=day) if key == "date_from" else replace(filters, date_to=day)
            else:
                errors[key] = f"{text[key]!r}: {date_range_message()}"
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        errors["date_to"] = "The end date is before the start date."
    muscle = text["muscle"]
    if muscle and muscle not in muscles():
        errors["muscle"] = f"Unknown muscle {muscle!r}; use a muscle id from the atlas (e.g. upper-trapezius)."
    elif muscle:
        filters = replace(filters, muscle=muscle)
    technique = text["technique"]
    if technique and technique not in Technique.values:
        errors["technique"] = f"Unknown technique {technique!r}; choose one of {', '.join(Technique.values)}."
    elif technique:
        filters = replace(filters, technique=technique)
    if text["cohort"]:
        filters = replace(filters, cohort=text["cohort"])
    options = ReportOptions()
    if text["rule"]:
        try:
            options = replace(options, rule=parse_rule(text["rule"]), rule_text=text["rule"].lower())
        except ValueError as exc:
            errors["rule"] = str(exc)
    if text["missing"]:
        try:
            options = replace(options, missing=parse_missing_policy(text["missing"]))
        except ValueError as exc:
            errors["missing"] = str(exc)
    if text["min_n"]:
        minimum = whole_number(text["min_n"]) or 0
        if not 1 <= minimum <= MAXIMUM_MINIMUM_N:
            errors["min_n"] = f"The smallest group shown must be a whole number from 1 to {MAXIMUM_MINIMUM_N}."
        else:
            options = replace(options, minimum_n=minimum)
    if errors:
        raise FilterError(errors)
    return filters, options


_FIELDS = (
    "condition",
    "clinician",
    "date_from",
    "date_to",
    "muscle",
    "technique",
    "cohort",
    "rule",
    "missing",
    "min_n",
)


def _clinician(clinic_id: int, value: str) -> int | None:
    """A clinician membership of the clinic, by id or by username."""
    found = Membership.objects.filter(clinic_id=clinic_id)
    number = whole_number(value, smallest=1)
    found = found.filter(pk=number) if number is not None else found.filter(user__username=value)
    return found.values_list("pk", flat=True).first()


def clinicians(clinic_id: int) -> list[tuple[int, str]]:
    """(membership id, display name) of the clinic's clinicians, for the filter form."""
    rows = Membership.objects.filter(clinic_id=clinic_id, role="clinician").select_related("user").order_by("pk")
    return [(row.pk, row.user.get_full_name() or row.user.username) for row in rows]


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` on the clinic's clock (the active time zone, TIME_ZONE): a report's days
    are the clinic's calendar days, as every other page shows them."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def needling_entries(filters: ReportFilters) -> QuerySet[NeedlingEntry]:
    """The clinic's needling entries matching the muscle and technique filters."""
    entries = NeedlingEntry.objects.filter(clinic_id=filters.clinic_id)
    if filters.muscle:
        entries = entries.filter(muscle_id=filters.muscle)
    if filters.technique:
        entries = entries.filter(technique=filters.technique)
    return entries


def episode_rows(rows: QuerySet[Row], filters: ReportFilters, *, clinician: str, cohort: str) -> QuerySet[Row]:
    """``rows`` (episodes, or stored rows that stand for episodes) narrowed to the clinic, condition, clinician,
    dates opened and cohort filtered on; the muscle and technique filters are left to the caller.

    One definition for the live path (``episodes``) and the summary path (``summaries.summary_episodes``), so
    that both always cover the same episodes. ``clinician`` and ``cohort`` name the lookups for the clinician
    who opened the episode and the imported cohort's label on ``rows``.
    """
    found = rows.filter(clinic_id=filters.clinic_id)
    if filters.condition:
        found = found.filter(condition=filters.condition)
    if filters.clinician_id is not None:
        found = found.filter(**{clinician: filters.clinician_id})
    if filters.date_from:
        found = found.filter(opened_at__gte=day_start(filters.date_from))
    if filters.date_to:
        found = found.filter(opened_at__lt=day_start(filters.date_to + timedelta(days=1)))
    if filters.cohort is not None:
        found = found.filter(**{cohort: filters.cohort})
    return found


def episodes(filters: ReportFilters) -> QuerySet[Episode]:
    """The clinic's episodes the report covers, each annotated ``needled``: needles inserted at its first visit."""
    found = episode_rows(Episode.objects.all(), filters, clinician="opened_by_id", cohort="cohort__label")
    if filters.needling_filter:
        found = found.filter(
            Exists(
                needling_entries(filters).filter(visit__episode_id=OuterRef("pk"), visit__clinic_id=filters.clinic_id)
            )
        )
    # The cohort is fixed at the first visit (needles inserted then, or not), never by a later visit: classing
    # an episode by needling it received later credits it with the time it had to stay in care (immortal time).
    first = Visit.objects.filter(episode_id=OuterRef("pk")).order_by("started_at", "pk").values("needles_inserted")
    found = found.annotate(first_needles=Subquery(first[:1]))
    return found.annotate(needled=Case(When(first_needles__gt=0, then=Value(True)), default=Value(False)))


def visit_q(filters: ReportFilters, prefix: str = "") -> Q:
    """The visit filters as a Q on visit fields (``prefix`` e.g. ``"visit__"`` to filter rows that point at visits).

    Covers visits given in the date range, by the clinician filtered on, of episodes of the condition and cohort
    filtered on; the muscle and technique filters are applied with ``needling_entries``.
    """
    condition = Q(**{f"{prefix}clinic_id": filters.clinic_id})
    if filters.date_from:
        condition &= Q(**{f"{prefix}started_at__gte": day_start(filters.date_from)})
    if filters.date_to:
        condition &= Q(**{f"{prefix}started_at__lt": day_start(filters.date_to + timedelta(days=1))})
    if filters.clinician_id is not None:
        condition &= Q(**{f"{prefix}clinician_id": filters.clinician_id})
    if filters.condition:
        condition &= Q(**{f"{prefix}episode__condition": filters.condition})
    if filters.cohort is not None:
        condition &= Q(**{f"{prefix}episode__cohort__label": filters.cohort})
    return condition


def needled_visits(filters: ReportFilters) -> QuerySet[Visit]:
    """The visits with needles inserted that the visit figures cover (all filters applied)."""
    found = Visit.objects.filter(visit_q(filters), needles_inserted__gt=0)
    if filters.needling_filter:
        found = found.filter(Exists(needling_entries(filters).filter(visit_id=OuterRef("pk"))))
    return found
