"""The search parameters of the FHIR endpoints: what each type can be searched by, how a request's parameters are
read, and how a resource is matched. Pure module: no Django.

One definition serves three readers: the searches (``parse`` and ``matches``, and the Patient search's database
filters, which are keyed by the same names), the CapabilityStatement (``PARAMS`` and ``COMBINATIONS``), and the
test that calls every listed parameter. The parameters and combinations follow US Core 6.1.0 for Patient,
Condition, Observation and Procedure (the SHALL and most SHOULD searches); AdverseEvent, Consent, Questionnaire and
QuestionnaireResponse take the R4 base parameters listed here, and Practitioner (the clinic's staff) _id, identifier
and name.

Values, as R4 (3.1.1) defines them: a comma is OR (``code=a,b``), a parameter given twice is AND
(``date=ge2024-01-01&date=lt2025-01-01``); a token is ``code``, ``system|code``, ``|code`` (no system) or
``system|`` (any code of the system); a date takes a prefix (eq, ne, lt, gt, le, ge, sa, eb, ap) and is a range as
wide as its precision (``2024`` is the whole year). Dates without a time zone are read in UTC, the zone the
resources are written in. Modifiers (``name:exact``) are not supported and are refused like unknown parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

Json = dict[str, Any]
Interval = tuple[datetime, datetime]  # [low, high)
DATE_PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap")
# Parameters that every search takes besides the type's own: the paging (paging.PAGING_PARAMS), the format and
# the elements to return.
RESULT_PARAMS = ("_format", "_elements")


class SearchError(ValueError):
    """A search that cannot be run as asked; the message says what to send instead."""


@dataclass(frozen=True)
class Param:
    """One search parameter of a type: its name, FHIR type, what it matches, and (for the types searched in
    memory) the function giving a resource's values: tokens as (system, code) pairs, dates as intervals,
    references and strings as text."""

    name: str
    type: str  # token | date | reference | string | uri
    documentation: str
    values: Callable[[Json], list[Any]] | None = None


# ---------------------------------------------------------------------------------------------- resource values


def _codings(concepts: Any) -> list[tuple[str, str]]:
    """The (system, code) pairs of a CodeableConcept or a list of them."""
    found = []
    for concept in concepts if isinstance(concepts, list) else [concepts] if concepts else []:
        found += [(c.get("system", ""), c.get("code", "")) for c in concept.get("coding", [])]
    return found


def _codes_of(key: str) -> Callable[[Json], list[tuple[str, str]]]:
    return lambda r: _codings(r.get(key))


def _code_of(key: str) -> Callable[[Json], list[tuple[str, str]]]:
    return lambda r: [("", r[key])] if key in r else []


def _dates_of(*keys: str) -> Callable[[Json], list[Interval]]:
    return lambda r: [resource_interval(r[k]) for k in keys if k in r]


def _last_updated(resource: Json) -> list[Interval]:
    stamp = resource.get("meta", {}).get("lastUpdated")
    return [resource_interval(stamp)] if stamp else []


def _subject(resource: Json) -> list[str]:
    ref = resource.get("subject") or resource.get("patient") or {}
    return [ref["reference"]] if "reference" in ref else []


def _id(resource: Json) -> list[tuple[str, str]]:
    return [("", resource["id"])]


_ID = Param("_id", "token", "the resource id, or a comma list of them (any matches)", _id)
_PATIENT = Param("patient", "reference", "the patient (Patient/12 or 12); required", _subject)
_LAST_UPDATED = Param("_lastUpdated", "date", "meta.lastUpdated, with a prefix (ge2025-01-01)", _last_updated)

PARAMS: dict[str, tuple[Param, ...]] = {
    "Patient": (
        Param("_id", "token", "the patient's id, or a comma list of them (any matches)"),
        Param(
            "identifier",
            "token",
            "MRN as system|value (system = the clinic's MRN system), or another system's identifier kept from an "
            "import as system|value; the value alone matches either",
        ),
        Param("name", "string", "start of the given or family name, ignoring case and accents; comma = any"),
        Param("family", "string", "start of the family name, ignoring case and accents; comma = any"),
        Param("gender", "token", "male | female | other | unknown (administrative-gender); comma = any"),
        Param("birthdate", "date", "date of birth, with a prefix (eq, ne, lt, gt, le, ge, sa, eb, ap)"),
    ),
    "Condition": (
        _PATIENT,
        _ID,
        Param(
            "category",
            "token",
            "encounter-diagnosis (episodes of care) | problem-list-item (conditions another record reported)",
            _codes_of("category"),
        ),
        Param(
            "clinical-status",
            "token",
            "active | recurrence | relapse | inactive | remission | resolved (condition-clinical)",
            _codes_of("clinicalStatus"),
        ),
        Param(
            "code",
            "token",
            "ICD-10-CM code (system|code), the local condition code, or a reported condition's code as received",
            _codes_of("code"),
        ),
        Param("onset-date", "date", "onset, with a prefix", _dates_of("onsetDateTime")),
        Param("abatement-date", "date", "discharge date, with a prefix", _dates_of("abatementDateTime")),
        Param("recorded-date", "date", "when the episode was opened, with a prefix", _dates_of("recordedDate")),
        _LAST_UPDATED,
    ),
    "Observation": (
        _PATIENT,
        _ID,
        Param("category", "token", "survey (scores, pain ratings) | exam (range of motion)", _codes_of("category")),
        Param("code", "token", "LOINC (72514-3 pain, 97909-6 ODI) or the local instrument code", _codes_of("code")),
        Param("date", "date", "effective date, with a prefix", _dates_of("effectiveDateTime")),
        Param("status", "token", "final", _code_of("status")),
        _LAST_UPDATED,
    ),
    "Procedure": (
        _PATIENT,
        _ID,
        Param("date", "date", "when the needling was performed, with a prefix", _dates_of("performedDateTime")),
        Param("code", "token", "CPT 20560/20561 or the local dry-needling code", _codes_of("code")),
        Param("status", "token", "completed", _code_of("status")),
        _LAST_UPDATED,
    ),
    "AdverseEvent": (
        _PATIENT,
        _ID,
        Param("date", "date", "onset of the event, with a prefix", _dates_of("date")),
        Param("seriousness", "token", "Non-serious | Serious (R4 adverse-event-seriousness)", _codes_of("seriousness")),
        Param("severity", "token", "mild | moderate | severe", _codes_of("severity")),
        Param("event", "token", "the local adverse-event type", _codes_of("event")),
        _LAST_UPDATED,
    ),
    "Consent": (
        _PATIENT,
        _ID,
        Param("status", "token", "active | inactive (withdrawn)", _code_of("status")),
        Param("date", "date", "when the consent was signed, with a prefix", _dates_of("dateTime")),
        Param("category", "token", "LOINC 59284-0", _codes_of("category")),
        _LAST_UPDATED,
    ),
    "QuestionnaireResponse": (
        _PATIENT,
        _ID,
        Param(
            "questionnaire",
            "reference",
            "the Questionnaire's canonical URL (with or without |version)",
            lambda r: [r["questionnaire"].split("|")[0]] if "questionnaire" in r else [],
        ),
        Param("authored", "date", "when it was answered, with a prefix", _dates_of("authored")),
        Param("status", "token", "completed", _code_of("status")),
        _LAST_UPDATED,
    ),
    "Questionnaire": (
        Param("_id", "token", "the instrument's id (ndi, odi, ...), or a comma list", _id),
        Param("url", "uri", "the canonical URL", lambda r: [r.get("url", "")]),
        Param(
            "code",
            "token",
            "the LOINC panel code where the instrument has one",
            lambda r: [(c.get("system", ""), c.get("code", "")) for c in r.get("code", [])],  # a list of Codings
        ),
        Param("status", "token", "active", _code_of("status")),
    ),
    "Practitioner": (
        Param("_id", "token", "the member's id, or a comma list of them (any matches)", _id),
        Param(
            "identifier",
            "token",
            "the user's id as system|value (system = Needlepoint's user system), or the value alone",
            lambda r: [(i.get("system", ""), i.get("value", "")) for i in r.get("identifier", [])],
        ),
        # Matched by start of a word, ignoring case and accents, by the search itself (needlepoint.fhir.practitioners).
        Param("name", "string", "start of the given or family name, ignoring case and accents; comma = any"),
    ),
}

# The combinations US Core 6.1.0 lists for each type (SHALL, then SHOULD), all supported: documented in the
# CapabilityStatement and called by the tests.
COMBINATIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Patient": (("birthdate", "name"), ("gender", "name"), ("birthdate", "family"), ("family", "gender")),
    "Condition": (
        ("patient", "category"),
        ("patient", "clinical-status"),
        ("patient", "code"),
        ("patient", "onset-date"),
        ("patient", "abatement-date"),
        ("patient", "recorded-date"),
        ("patient", "_lastUpdated"),
    ),
    "Observation": (
        ("patient", "category"),
        ("patient", "code"),
        ("patient", "category", "date"),
        ("patient", "code", "date"),
        ("patient", "category", "status"),
        ("patient", "category", "_lastUpdated"),
    ),
    "Procedure": (("patient", "date"), ("patient", "code", "date"), ("patient", "status")),
}
# Types whose searches are limited to one patient (every type but Patient and Questionnaire).
PATIENT_SCOPED = tuple(t for t, params in PARAMS.items() if params[0].name == "patient")
US_CORE_VERSION = "6.1.0"


def names(resource_type: str) -> tuple[str, ...]:
    """The search parameters of a type, in the order the CapabilityStatement lists them."""
    return tuple(p.name for p in PARAMS[resource_type])


def param(resource_type: str, name: str) -> Param:
    """One search parameter of a type."""
    return next(p for p in PARAMS[resource_type] if p.name == name)


# ---------------------------------------------------------------------------------------------- dates

_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def date_interval(text: str) -> Interval:
    """The range a FHIR date, dateTime or instant covers at its precision, [low, high) in UTC: ``2024`` is the year,
    ``2024-03`` the month, ``2024-03-05`` the day, ``2024-03-05T10:00`` the minute. A SearchError if malformed."""
    found = _DATE.match(text)
    if found is None:
        raise SearchError(f"{text!r} is not a date: write YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone].")
    year, month, day, hour, minute, second, zone = found.groups()
    try:
        if hour is None:
            low = datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC)
            if day:
                return low, low + timedelta(days=1)
            if month:
                return low, (low + timedelta(days=32)).replace(day=1)
            return low, low.replace(year=low.year + 1)
        stamp = f"{year}-{month}-{day}T{hour}:{minute}:{second or '00'}{zone or '+00:00'}".replace("Z", "+00:00")
        low = datetime.fromisoformat(stamp).astimezone(UTC)
    except ValueError as exc:
        raise SearchError(f"{text!r} is not a calendar date.") from exc
    return low, low + (timedelta(seconds=1) if second else timedelta(minutes=1))


def resource_interval(value: str) -> Interval:
    """The range a resource's date or dateTime value covers (a date is its whole day)."""
    return date_interval(value)


@dataclass(frozen=True)
class DateTest:
    """A date parameter's value: a prefix and the range the date covers."""

    prefix: str
    low: datetime
    high: datetime
    now: datetime

    def matches(self, target: Interval) -> bool:
        """Whether a resource's range meets the test, as R4 3.1.1.4.2 defines each prefix against ranges."""
        low, high = target
        contained = self.low <= low and high <= self.high
        if self.prefix == "eq":
            return contained
        if self.prefix == "ne":
            return not contained
        if self.prefix == "gt":
            return high > self.high
        if self.prefix == "lt":
            return low < self.low
        if self.prefix == "ge":
            return high > self.high or contained
        if self.prefix == "le":
            return low < self.low or contained
        if self.prefix == "sa":
            return low >= self.high
        if self.prefix == "eb":
            return high <= self.low
        # ap: within 10 % of the distance from now to the value, at least a day either side (R4 leaves the
        # margin to the server and suggests 10 %).
        margin = max(abs(self.now - self.low) / 10, timedelta(days=1))
        return low < self.high + margin and high > self.low - margin


def date_test(text: str, now: datetime) -> DateTest:
    """A date parameter's value (``ge2024-01-01``) as a test; the prefix defaults to eq."""
    prefix = text[:2] if text[:2] in DATE_PREFIXES else "eq"
    low, high = date_interval(text[2:] if text[:2] in DATE_PREFIXES else text)
    return DateTest(prefix, low, high, now)


# ---------------------------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    """A token parameter's value: ``system`` None matches any system, "" only codes without one; ``code`` None
    matches any code of the system."""

    system: str | None
    code: str | None

    def matches(self, pair: tuple[str, str]) -> bool:
        """Whether a resource's (system, code) matches."""
        system, code = pair
        return (self.system is None or self.system == system) and (self.code is None or self.code == code)


def token(text: str) -> Token:
    """``code``, ``system|code``, ``|code`` or ``system|`` as a Token."""
    if "|" not in text:
        return Token(None, text)
    system, _, code = text.partition("|")
    if not system and not code:
        raise SearchError("A token needs a code, a system or both (system|code).")
    return Token(system, code or None)


def reference_id(text: str, resource_type: str = "Patient") -> str:
    """The id of a reference parameter's value: ``12``, ``Patient/12`` or an absolute URL ending in it."""
    parts = text.strip().rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] != resource_type:
        raise SearchError(f"{text!r} is not a reference to a {resource_type}.")
    return parts[-1]


# ---------------------------------------------------------------------------------------------- a request


@dataclass(frozen=True)
class Criterion:
    """One occurrence of a parameter: the resource matches when any of its values does (comma = OR)."""

    param: Param
    values: tuple[Any, ...]

    def matches(self, resource: Json) -> bool:
        """Whether the resource has a value matching any of the criterion's values."""
        assert self.param.values is not None
        found = self.param.values(resource)
        if self.param.type == "token":
            return any(t.matches(pair) for t in self.values for pair in found)
        if self.param.type == "date":
            return any(t.matches(interval) for t in self.values for interval in found)
        if self.param.type == "reference":
            wanted = {v.split("|")[0] for v in self.values}
            return any(v in wanted or v.rsplit("/", 1)[-1] in wanted for v in found)
        return any(v in self.values for v in found)


@dataclass(frozen=True)
class Query:
    """A search request read: its criteria (every one must match: AND), the unknown parameters left out under
    ``Prefer: handling=lenient``, and the parameters kept (for the self link)."""

    criteria: tuple[Criterion, ...]
    ignored: tuple[str, ...] = ()
    kept: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def given(self, name: str) -> list[Criterion]:
        """The criteria of one parameter (each occurrence)."""
        return [c for c in self.criteria if c.param.name == name]

    def matches(self, resource: Json) -> bool:
        """Whether a resource meets every criterion (the ``patient`` criterion is applied by the fetch)."""
        return all(c.matches(resource) for c in self.criteria if c.param.name != "patient")


def _values(p: Param, text: str, now: datetime) -> tuple[Any, ...]:
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise SearchError(f"{p.name} has an empty value; give a value or leave the parameter out.")
    if p.type == "token":
        return tuple(token(part) for part in parts)
    if p.type == "date":
        return tuple(date_test(part, now) for part in parts)
    return tuple(parts)


def parse(
    resource_type: str,
    params: Iterable[tuple[str, str]],
    *,
    lenient: bool = False,
    extra: Sequence[str] = (),
    now: datetime | None = None,
) -> Query:
    """Read a request's parameters (name, value pairs, a name as often as given) for a search of
    ``resource_type``. ``extra`` are the other parameters the endpoint takes (paging, _format, _elements), read
    elsewhere. Unknown parameters and modifiers raise SearchError, or are left out when ``lenient``."""
    known = {p.name: p for p in PARAMS[resource_type]}
    moment = now or datetime.now(UTC)
    criteria, ignored, kept = [], [], []
    for name, text in params:
        if name in extra:
            kept.append((name, text))
            continue
        if name not in known:
            ignored.append(name)
            continue
        kept.append((name, text))
        criteria.append(Criterion(known[name], _values(known[name], text, moment)))
    if ignored and not lenient:
        unknown = sorted(set(ignored))
        raise SearchError(
            f"Unsupported search parameter(s): {', '.join(unknown)}. Supported: {', '.join(known)} "
            "(send Prefer: handling=lenient to have unknown parameters ignored)."
        )
    return Query(tuple(criteria), tuple(sorted(set(ignored))), tuple(kept))


def filtered(resources: Iterable[Json], query: Query) -> list[Json]:
    """The resources that meet every criterion of the query."""
    return [r for r in resources if query.matches(r)]


def lenient(headers: Mapping[str, str]) -> bool:
    """Whether the request asked for unknown parameters to be ignored (``Prefer: handling=lenient``)."""
    prefer = headers.get("Prefer", "")
    return any(part.strip().replace(" ", "") == "handling=lenient" for part in prefer.split(";") + prefer.split(","))


def birthdate_bounds(test: DateTest) -> tuple[str, date | None, date | None]:
    """A birthdate test as whole days for the database: (how, first, second) where how is "range" (first <= day
    < second), "not-range", "before" (day < first), "from" (day >= first) or "near" (first <= day < second).
    A birth date covers one day, so each prefix reduces to a comparison of days."""
    low = test.low.date()
    high = test.high.date() if test.high.time() == datetime.min.time() else test.high.date() + timedelta(days=1)
    if test.prefix == "eq":
        return "range", low, high
    if test.prefix == "ne":
        return "not-range", low, high
    if test.prefix in ("gt", "sa"):
        return "from", high, None
    if test.prefix in ("lt", "eb"):
        return "before", low, None
    if test.prefix == "ge":
        return "from", low, None
    if test.prefix == "le":
        return "before", high, None
    margin = max(abs(test.now - test.low) / 10, timedelta(days=1))
    return "near", (test.low - margin).date(), (test.high + margin).date() + timedelta(days=1)


# ---------------------------------------------------------------------------------------------- _elements

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}
# The elements R4 makes mandatory (min 1) at the top of each type: always returned, so that a subsetted resource
# still validates (R4 3.1.1.5.9: the server SHOULD return the mandatory elements).
MANDATORY = {
    "Patient": (),
    "Condition": ("subject",),
    "Observation": ("status", "code"),
    "Procedure": ("status", "subject"),
    "AdverseEvent": ("actuality", "subject"),
    "Consent": ("status", "scope", "category"),
    "QuestionnaireResponse": ("status",),
    "Questionnaire": ("status",),
    "Practitioner": (),
}
_ELEMENT = re.compile(r"^[a-z][A-Za-z0-9]*$")


def elements(values: Sequence[str]) -> tuple[str, ...] | None:
    """The element names ``_elements`` asks for (comma lists, possibly given more than once), or None when not
    asked; a SearchError for a name that cannot be an element."""
    if not values:
        return None
    wanted = [name.strip() for text in values for name in text.split(",")]
    bad = [name for name in wanted if not _ELEMENT.match(name)]
    if bad:
        raise SearchError(f"_elements: {', '.join(bad)} is not an element name (e.g. _elements=code,subject).")
    return tuple(dict.fromkeys(wanted))


def _wanted(key: str, names: Iterable[str]) -> bool:
    # A choice element is asked for by its name without the type: "effective" keeps effectiveDateTime.
    return any(key == n or (key.startswith(n) and key[len(n) : len(n) + 1].isupper()) for n in names)


def subsetted(resource: Json, names: tuple[str, ...] | None) -> Json:
    """The resource with only the asked-for elements (and resourceType, id, meta and the mandatory elements), its
    meta tagged SUBSETTED; unchanged when nothing was asked."""
    if names is None:
        return resource
    keep = (*names, *MANDATORY.get(resource["resourceType"], ()))
    found = {k: v for k, v in resource.items() if k in ("resourceType", "id", "meta") or _wanted(k, keep)}
    meta = dict(found.get("meta", {}))
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    found["meta"] = meta
    return found
