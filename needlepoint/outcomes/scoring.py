"""Exact scoring of patient-reported outcome instruments from their data files.

Each instrument is described by one JSON file in ``needlepoint/outcomes/instruments/`` (items, options in
published order with their points, scoring rule, missing-item rule, rounding, range, direction, MCID/MDC with
sources). This module loads and validates those files and scores a list of answers exactly, using rational
arithmetic so that published rounding rules (e.g. the ODI's 16/45 = 35.5 %) are reproduced without binary
floating-point surprises.

Answers are given in item order, as the form prints them. For a choice item the answer is the value printed
beside the chosen option (``printed`` in the data file: GROC −7 … +7, QuickDASH 1-5, HIT-6 6/8/10/11/13, NDI/ODI
0-5; for yes/no items 1 means yes); for a 0-N numeric item the answer is the number itself; for a measurement item
(pressure pain threshold) the answer is the measured value; ``None`` means unanswered. An option's position in
the list is never an answer. Reading text (a printed number or an option's label) is ``answers.read_answer``.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeGuard

from needlepoint.references import keys_in_list, references

INSTRUMENTS_DIR = Path(__file__).parent / "instruments"

DIRECTIONS = ("higher_is_worse", "higher_is_better")
Direction = Literal["higher_is_worse", "higher_is_better"]
MCID_UNITS = ("points", "percent")
MISSING_RULES = ("none", "max_missing", "min_answered")
ROUNDING_METHODS = ("none", "truncate")
SCORING_RULES = ("sum", "percent_of_answered_max", "dash", "mean", "subscale_sum")
# The verdict on a freely usable instrument examined in place of a licensed one: it ships and is in the plan; it
# needs permission or a licence; or no terms were found.
VERDICTS = ("offered", "not shippable", "unclear")
HEADACHE_DIARY = "headache_diary"  # an offer that is the product's own headache diary, not an instrument


class InstrumentDataError(ValueError):
    """An instrument data file is malformed; the message names the file and the entry."""


class ScoringError(ValueError):
    """A set of answers cannot be scored; the message says why in words a clinician can act on."""

    def __init__(self, instrument: str, reason: str, item: str | None = None) -> None:
        super().__init__(f"{instrument}: {reason}")
        self.instrument = instrument
        self.reason = reason
        self.item = item


@dataclass(frozen=True)
class Option:
    """One answer option of a choice item, in published order: its label, the value printed beside it on the
    form (the answer given for it) and the points it scores."""

    label: str
    printed: Fraction
    points: Fraction


@dataclass(frozen=True)
class Item:
    """One question of an instrument: a choice, a whole-number scale (0-N) or a measurement."""

    id: str
    label: str
    wording: str | None
    kind: str  # "choice", "numeric" or "measurement"
    options: tuple[Option, ...]
    minimum: Fraction
    maximum: Fraction
    exclusive_min: bool
    scored: bool
    module: str | None
    subscale: str | None

    def points(self, answer: Fraction) -> Fraction:
        """Points scored by a validated answer (an option's printed value, a number, or a measurement)."""
        if self.kind != "choice":
            return answer
        return next(o.points for o in self.options if o.printed == answer)

    def printed_values(self) -> tuple[Fraction, ...]:
        """The values printed beside the options, in published order (empty for 0-N and measurement items)."""
        return tuple(o.printed for o in self.options)

    def options_are_scores(self) -> bool:
        """Whether the options are the scores themselves: consecutive whole numbers labelled by their value, an
        end perhaps with its anchor ("0 (no disability)", "1", ...). Such a data file ships no option text (the
        NDI's and ODI's statements are licensed), so the answer recorded is the score the licensed form prints."""
        if self.kind != "choice" or not self.options or any(o.printed.denominator != 1 for o in self.options):
            return False
        values = [int(o.printed) for o in self.options]
        consecutive = values == list(range(values[0], values[0] + len(values)))
        return consecutive and all(
            o.label == str(v) or o.label.startswith(f"{v} (") for o, v in zip(self.options, values, strict=True)
        )


@dataclass(frozen=True)
class Threshold:
    """A change threshold (MCID or MDC) with its unit and source."""

    value: float
    unit: str  # "points" on the instrument's own scale, or "percent" change from baseline
    source: str
    population: str | None = None
    why: str | None = None
    below_mdc: str | None = None  # why an MCID below the instrument's MDC is kept (required by the data check)


@dataclass(frozen=True)
class Band:
    """A published interpretation band; a total belongs to the last band whose ``minimum`` it reaches."""

    minimum: float
    label: str
    published: str


@dataclass(frozen=True)
class Alternative:
    """A freely usable instrument examined in place of a licensed one: what it measures, the verdict on its terms
    (``VERDICTS``) and the source of that verdict; for an offered one, what Needlepoint offers (an instrument code,
    or ``HEADACHE_DIARY``) and where it was validated, with the source of that."""

    name: str
    short: str  # how a page names it ("PSFS", "headache diary")
    measures: str
    verdict: str
    terms: str
    source: str
    offers: str | None = None
    validated_in: str = ""
    validation_source: str = ""

    @property
    def validation_found(self) -> bool:
        """Whether a validation of the offered alternative in the licensed instrument's condition was read (the
        data file's ``validated_in`` does not begin 'unverified')."""
        return not self.validated_in.startswith("unverified")


@dataclass(frozen=True)
class Alternatives:
    """What was examined in place of a licensed instrument whose wording is not shipped, and what is offered."""

    equivalent_found: bool
    summary: str
    examined: tuple[Alternative, ...]

    @property
    def offered(self) -> tuple[Alternative, ...]:
        """The alternatives Needlepoint offers instead (verdict 'offered'), in the data file's order."""
        return tuple(a for a in self.examined if a.verdict == "offered")


@dataclass(frozen=True)
class Instrument:
    """A loaded, validated instrument definition."""

    code: str
    name: str
    version: str
    licence: Mapping[str, Any]
    recall_period: str
    items: tuple[Item, ...]
    answer_counts: tuple[int, ...]
    scoring: Mapping[str, Any]
    missing: Mapping[str, Any]
    rounding: Mapping[str, Any]
    scale_range: tuple[float, float]
    direction: Direction
    unit: str
    mcid: Threshold | None
    mcid_alternatives: tuple[Threshold, ...]
    mdc: Threshold | None
    bands: tuple[Band, ...]
    loinc: str | None
    rates_change: bool
    sources: tuple[str, ...]
    unverified: tuple[str, ...]
    modules: Mapping[str, str] = field(default_factory=dict)
    alternatives: Alternatives | None = None  # required where the wording is licensed (not shipped)

    def below_mdc(self, rule: Threshold | None) -> bool:
        """Whether a responder rule in points lies below the instrument's MDC: a change that reaches such a
        rule can still be measurement error, so it is never called clinically important on its own."""
        return rule is not None and rule.unit == "points" and self.mdc is not None and rule.value < self.mdc.value

    @property
    def responder_points(self) -> float | None:
        """The smallest improvement in points that is both clinically important and beyond measurement error:
        the MCID, raised to the MDC where the MCID lies below it; None without an MCID in points."""
        if self.mcid is None or self.mcid.unit != "points":
            return None
        return max(self.mcid.value, self.mdc.value) if self.mdc is not None else self.mcid.value

    @property
    def core_items(self) -> tuple[Item, ...]:
        """Scored items outside the optional modules: the ones the total is computed from."""
        return tuple(i for i in self.items if i.scored and i.module is None)


@dataclass(frozen=True)
class Score:
    """The result of scoring one completed instrument."""

    instrument: str
    total: float
    subscales: dict[str, float]
    unit: str
    items_answered: int
    band: str | None
    scale_range: tuple[float, float]
    direction: Direction
    unscored_items: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- loading and validation


def _fail(where: str, message: str) -> InstrumentDataError:
    return InstrumentDataError(f"{where}: {message}")


def _require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise _fail(where, f"missing required field '{key}'")
    value = data[key]
    # bool is an int subclass; a JSON true where a number belongs is a data error
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _fail(where, f"field '{key}' must be {kind}, not a boolean")
    if not isinstance(value, kind):
        raise _fail(where, f"field '{key}' must be of type {kind}, got {type(value).__name__}")
    return value


def _number(value: Any, where: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, f"expected a finite number, got {value!r}")
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def _parse_options(raw: Any, option_sets: Mapping[str, Any], where: str) -> tuple[Option, ...]:
    if isinstance(raw, str):
        if raw not in option_sets:
            raise _fail(where, f"unknown option set '{raw}'")
        raw = option_sets[raw]
    if not isinstance(raw, list) or not raw:
        raise _fail(where, "'options' must be a non-empty list or the name of an option set")
    options = []
    for index, entry in enumerate(raw):
        at = f"{where} option {index}"
        if not isinstance(entry, dict):
            raise _fail(at, "each option must be an object with 'label' and 'points'")
        printed = _number(entry.get("printed"), at + " printed")
        options.append(Option(_require(entry, "label", str, at), printed, _number(entry.get("points"), at)))
    printed_values = [o.printed for o in options]
    if len(set(printed_values)) != len(printed_values):
        raise _fail(where, "the options' printed values must differ, so that a printed value names one option")
    if any(v.denominator != 1 for v in printed_values):
        raise _fail(where, "printed values must be whole numbers")
    return tuple(options)


def _parse_item(raw: Any, option_sets: Mapping[str, Any], where: str) -> Item:
    if not isinstance(raw, dict):
        raise _fail(where, "each item must be an object")
    item_id = _require(raw, "id", str, where)
    where = f"{where} ('{item_id}')"
    kinds = [k for k in ("options", "numeric", "measurement") if k in raw]
    if len(kinds) != 1:
        raise _fail(where, "an item needs exactly one of 'options', 'numeric' or 'measurement'")
    options: tuple[Option, ...] = ()
    exclusive_min = False
    if kinds[0] == "options":
        options = _parse_options(raw["options"], option_sets, where)
        low, high = min(o.printed for o in options), max(o.printed for o in options)
    else:
        spec = _require(raw, kinds[0], dict, where)
        low, high = _number(spec.get("min"), where + " min"), _number(spec.get("max"), where + " max")
        exclusive_min = bool(spec.get("exclusive_min", False))
        if kinds[0] == "numeric" and (low.denominator != 1 or high.denominator != 1):
            raise _fail(where, "a numeric item's min and max must be whole numbers")
        if low >= high:
            raise _fail(where, "min must be below max")
    wording = raw.get("wording")
    if wording is not None and not isinstance(wording, str):
        raise _fail(where, "'wording' must be text or null")
    kind = {"options": "choice", "numeric": "numeric", "measurement": "measurement"}[kinds[0]]
    return Item(
        id=item_id,
        label=_require(raw, "label", str, where),
        wording=wording,
        kind=kind,
        options=options,
        minimum=low,
        maximum=high,
        exclusive_min=exclusive_min,
        scored=bool(raw.get("scored", True)),
        module=raw.get("module"),
        subscale=raw.get("subscale"),
    )


def _parse_threshold(raw: Any, where: str, default_unit: str | None = None) -> Threshold | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object or null")
    unit = raw.get("unit", default_unit)
    if unit not in MCID_UNITS:
        raise _fail(where, f"'unit' must be one of {MCID_UNITS}, got {unit!r}")
    value = _number(raw.get("value"), where + " value")
    if value <= 0:
        raise _fail(where, "value must be positive (a size of change, direction applied separately)")
    source = _require(raw, "source", str, where)
    if not source.strip():
        raise _fail(where, "'source' must not be empty")
    return Threshold(float(value), unit, source, raw.get("population"), raw.get("why"), raw.get("below_mdc"))


def _parse_bands(raw: Any, where: str) -> tuple[Band, ...]:
    if not isinstance(raw, list):
        raise _fail(where, "'bands' must be a list (empty when none is published)")
    bands = []
    for index, entry in enumerate(raw):
        at = f"{where} band {index}"
        if not isinstance(entry, dict):
            raise _fail(at, "each band must be an object")
        minimum = float(_number(entry.get("min"), at + " min"))
        bands.append(Band(minimum, _require(entry, "label", str, at), _require(entry, "published", str, at)))
    if any(b.minimum <= a.minimum for a, b in itertools.pairwise(bands)):
        raise _fail(where, "bands must be in ascending order of 'min'")
    return tuple(bands)


def _parse_rule(raw: Any, allowed: tuple[str, ...], key: str, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise _fail(where, f"'{key}' must be an object")
    rule = raw.get("rule", raw.get("method"))
    if rule not in allowed:
        raise _fail(where, f"'{key}' rule must be one of {allowed}, got {rule!r}")
    for text_key in ("description", "source"):
        _require(raw, text_key, str, f"{where} {key}")
    return MappingProxyType(dict(raw))


def _is_direction(value: str) -> TypeGuard[Direction]:
    return value in DIRECTIONS


def _parse_counts(raw: Any, item_count: int, where: str) -> tuple[int, ...]:
    valid = isinstance(raw, list) and raw and all(type(c) is int and 1 <= c <= item_count for c in raw)
    if not valid:
        raise _fail(where, f"'answer_counts' must list whole numbers between 1 and {item_count}")
    return tuple(raw)


def _parse_instrument(data: Any, where: str) -> Instrument:
    if not isinstance(data, dict):
        raise _fail(where, "the file must hold one JSON object")
    code = _require(data, "code", str, where)
    option_sets = data.get("option_sets", {})
    raw_items = _require(data, "items", list, where)
    items = tuple(_parse_item(raw, option_sets, f"{where} item {n + 1}") for n, raw in enumerate(raw_items))
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise _fail(where, "item ids must be unique")
    scale = _require(data, "range", dict, where)
    direction = _require(data, "direction", str, where)
    if not _is_direction(direction):
        raise _fail(where, f"'direction' must be one of {DIRECTIONS}")
    counts = _parse_counts(data.get("answer_counts", [len(items)]), len(items), where)
    sources = tuple(_require(data, "sources", list, where))
    if not sources:
        raise _fail(where, "'sources' must not be empty")
    instrument = Instrument(
        code=code,
        name=_require(data, "name", str, where),
        version=_require(data, "version", str, where),
        licence=MappingProxyType(_require(data, "licence", dict, where)),
        recall_period=_require(data, "recall_period", str, where),
        items=items,
        answer_counts=counts,
        scoring=_parse_rule(_require(data, "scoring", dict, where), SCORING_RULES, "scoring", where),
        missing=_parse_rule(_require(data, "missing", dict, where), MISSING_RULES, "missing", where),
        rounding=_parse_rule(_require(data, "rounding", dict, where), ROUNDING_METHODS, "rounding", where),
        scale_range=(
            float(_number(scale.get("min"), where + " range min")),
            float(_number(scale.get("max"), where + " range max")),
        ),
        direction=direction,
        unit=_require(data, "unit", str, where),
        mcid=_parse_threshold(data.get("mcid"), f"{where} mcid"),
        mcid_alternatives=tuple(
            threshold
            for n, alt in enumerate(data.get("mcid_alternatives", []))
            if (threshold := _parse_threshold(alt, f"{where} mcid_alternatives {n}")) is not None
        ),
        mdc=_parse_threshold(data.get("mdc"), f"{where} mdc", default_unit="points"),
        bands=_parse_bands(data.get("bands", []), where),
        loinc=data.get("loinc"),
        rates_change=bool(data.get("rates_change", False)),
        sources=sources,
        unverified=tuple(data.get("unverified", [])),
        modules=MappingProxyType(dict(data.get("modules", {}))),
        alternatives=_parse_alternatives(data, where),
    )
    _check_structure(instrument, where)
    return instrument


def _sourced(text: Any, field_name: str, where: str) -> str:
    """A source text: it cites a references key, names the address read, or says it is unverified."""
    if not isinstance(text, str) or not text.strip():
        raise _fail(where, f"'{field_name}' must be a non-empty text")
    if not (keys_in_list(text) or "http" in text or "unverified" in text):
        raise _fail(where, f"'{field_name}' must cite a reference key, give an address, or say 'unverified'")
    return _cited(text, field_name, where)


def _cited(text: str, field_name: str, where: str) -> str:
    """A text's citations hold: every key is in the references file, and a text citing a secondary page (a copy,
    an index, a summary) says 'unverified', so nothing read second-hand passes as checked."""
    keys = keys_in_list(text)
    unknown = [key for key in keys if key not in references()]
    if unknown:
        raise _fail(where, f"'{field_name}' cites {unknown}, which needlepoint/references.json does not hold")
    secondary = [key for key in keys if references()[key].secondary]
    if secondary and "unverified" not in text:
        raise _fail(where, f"'{field_name}' cites {secondary}, a secondary source, without saying 'unverified'")
    return text


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"'{key}' must be a non-empty text")
    return value


def _parse_alternative(raw: Any, where: str) -> Alternative:
    if not isinstance(raw, dict):
        raise _fail(where, "each examined alternative must be an object")
    allowed = {"name", "short", "measures", "verdict", "terms", "source", "offers", "validated_in", "validation_source"}
    if extra := sorted(set(raw) - allowed):
        raise _fail(where, f"unknown field(s) {extra}")
    verdict = raw.get("verdict")
    if verdict not in VERDICTS:
        raise _fail(where, f"'verdict' must be one of {VERDICTS}, got {verdict!r}")
    offered = {"offers", "validated_in", "validation_source"}
    if verdict != "offered":
        if present := sorted(offered & set(raw)):
            raise _fail(where, f"only an offered alternative has {present}")
        extras: dict[str, Any] = {}
    else:
        offers = raw.get("offers")
        if not isinstance(offers, str) or not offers.strip():
            raise _fail(where, "an offered alternative names what it offers in 'offers' (a code or headache_diary)")
        extras = {
            "offers": offers,
            "validated_in": _cited(_text(raw, "validated_in", where), "validated_in", where),
            "validation_source": _sourced(raw.get("validation_source"), "validation_source", where),
        }
    return Alternative(
        name=_text(raw, "name", where),
        short=_text(raw, "short", where),
        measures=_text(raw, "measures", where),
        verdict=verdict,
        terms=_text(raw, "terms", where),
        source=_sourced(raw.get("source"), "source", where),
        **extras,
    )


def _parse_alternatives(data: Mapping[str, Any], where: str) -> Alternatives | None:
    """The 'alternatives' block: required where the wording is licensed, refused where it ships."""
    licence = data.get("licence")
    shipped = isinstance(licence, dict) and licence.get("wording_shipped") is True
    raw = data.get("alternatives")
    if shipped:
        if raw is not None:
            raise _fail(where, "'alternatives' belongs to instruments whose wording is licensed, not shipped")
        return None
    at = f"{where} alternatives"
    if not isinstance(raw, dict):
        raise _fail(
            where,
            "an instrument whose wording is licensed needs an 'alternatives' block: the freely usable instruments "
            "examined in its place, each with its verdict and source",
        )
    if extra := sorted(set(raw) - {"equivalent_found", "summary", "examined"}):
        raise _fail(at, f"unknown field(s) {extra}")
    found = raw.get("equivalent_found")
    if not isinstance(found, bool):
        raise _fail(at, "'equivalent_found' must be true or false")
    examined = raw.get("examined")
    if not isinstance(examined, list) or not examined:
        raise _fail(at, "'examined' must list at least one alternative")
    parsed = tuple(_parse_alternative(entry, f"{at} {n + 1}") for n, entry in enumerate(examined))
    if found and not any(a.verdict == "offered" for a in parsed):
        raise _fail(at, "an equivalent was found but none is offered")
    summary = _cited(_text(raw, "summary", at), "summary", at)
    return Alternatives(equivalent_found=found, summary=summary, examined=parsed)


def _check_offers(loaded: Mapping[str, Instrument]) -> None:
    """Every offered alternative is the headache diary or an instrument whose wording ships and that a patient
    answers (not a measurement); checked once all files are loaded."""
    for defn in loaded.values():
        for alt in defn.alternatives.offered if defn.alternatives else ():
            if alt.offers == HEADACHE_DIARY:
                continue
            offered = loaded.get(alt.offers or "")
            if offered is None:
                raise _fail(f"instruments/{defn.code.lower()}.json", f"offers {alt.offers!r}, not a known instrument")
            ships = offered.licence.get("wording_shipped") is True
            if not ships or all(i.kind == "measurement" for i in offered.items):
                raise _fail(
                    f"instruments/{defn.code.lower()}.json",
                    f"offers {alt.offers}, which does not ship wording a patient can answer",
                )


def _check_structure(instrument: Instrument, where: str) -> None:
    modules = {i.module for i in instrument.items if i.module is not None}
    if modules != set(instrument.modules):
        declared = sorted(instrument.modules)
        raise _fail(where, f"items name modules {sorted(modules)} but 'modules' declares {declared}")
    if not instrument.core_items:
        raise _fail(where, "an instrument needs at least one scored item outside the modules")
    if instrument.missing["rule"] != "none":
        _require(instrument.missing, "value", int, f"{where} missing")
    if instrument.rounding["method"] == "truncate":
        _require(instrument.rounding, "decimals", int, f"{where} rounding")
    mcid, mdc = instrument.mcid, instrument.mdc
    if mcid is not None and mdc is not None and instrument.below_mdc(mcid) and not (mcid.below_mdc or "").strip():
        raise _fail(
            where,
            f"the MCID ({mcid.value:g}) lies below the MDC ({mdc.value:g}): say so in the "
            "MCID's 'below_mdc', so that every output can flag it",
        )
    if instrument.rates_change and instrument.mcid is not None:
        raise _fail(where, "an instrument that itself rates change has no MCID against a baseline")
    low, high = _theoretical_range(instrument)
    if (float(low), float(high)) != instrument.scale_range:
        raise _fail(
            where,
            f"declared range {instrument.scale_range} does not match what the items and scoring rule "
            f"can produce ({float(low)}, {float(high)})",
        )
    if instrument.bands and instrument.bands[0].minimum != instrument.scale_range[0]:
        raise _fail(where, "the first band must start at the bottom of the range")


def _item_point_range(item: Item) -> tuple[Fraction, Fraction]:
    if item.kind == "choice":
        points = [o.points for o in item.options]
        return min(points), max(points)
    return item.minimum, item.maximum


def _theoretical_range(instrument: Instrument) -> tuple[Fraction, Fraction]:
    items = instrument.core_items
    lows, highs = zip(*(_item_point_range(i) for i in items), strict=True)
    rule = instrument.scoring["rule"]
    if rule == "sum":
        return sum(lows, Fraction(0)), _capped_sum_max(instrument, items)
    if rule == "percent_of_answered_max":
        return Fraction(100) * min(lows) / max(highs), Fraction(100)
    if rule == "dash":
        return (min(lows) - 1) * 25, (max(highs) - 1) * 25
    if rule == "mean":
        return min(lows), max(highs)
    low = high = Fraction(0)
    for sub in _subscales(instrument, where="range check"):
        members = [i for i in items if i.subscale == sub["id"]]
        divisor = Fraction(sub["divisor"])
        low += sum((_item_point_range(i)[0] for i in members), Fraction(0)) / divisor
        high += sum((_item_point_range(i)[1] for i in members), Fraction(0)) / divisor
    return low, high


def _capped_sum_max(instrument: Instrument, items: tuple[Item, ...]) -> Fraction:
    """Highest possible sum when groups of items share a ceiling (MIDAS day counts)."""
    by_id = {i.id: _item_point_range(i)[1] for i in items}
    total = sum(by_id.values(), Fraction(0))
    for limit in instrument.scoring.get("shared_limits", []):
        unknown = [i for i in limit.get("items", []) if i not in by_id]
        if unknown or "max" not in limit or "why" not in limit:
            raise _fail(instrument.code, f"shared limit {limit!r} needs scored 'items', 'max' and 'why'")
        group = sum((by_id[i] for i in limit["items"]), Fraction(0))
        total -= max(Fraction(0), group - Fraction(limit["max"]))
    return total


def _subscales(instrument: Instrument, where: str) -> list[Mapping[str, Any]]:
    subs = instrument.scoring.get("subscales")
    at = f"{instrument.code} {where}"
    if not isinstance(subs, list) or not subs:
        raise _fail(at, "rule 'subscale_sum' needs a non-empty 'subscales' list")
    for sub in subs:
        if not isinstance(sub, dict) or not isinstance(sub.get("id"), str):
            raise _fail(at, "each subscale needs an 'id'")
        if _number(sub.get("divisor"), f"{at} subscale {sub['id']} divisor") <= 0:
            raise _fail(at, f"subscale {sub['id']}: divisor must be positive")
    ids = {sub["id"] for sub in subs}
    stray = [i.id for i in instrument.core_items if i.subscale not in ids]
    if stray:
        raise _fail(at, f"items {stray} belong to no declared subscale")
    return subs


def _load_file(path: Path) -> Instrument:
    where = f"instruments/{path.name}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _fail(where, f"not valid JSON ({exc})") from exc
    instrument = _parse_instrument(data, where)
    if path.stem != instrument.code.lower():
        raise _fail(where, f"file name must be the lower-case code ('{instrument.code.lower()}.json')")
    return instrument


@functools.cache
def instruments() -> Mapping[str, Instrument]:
    """All instrument definitions, validated, keyed by code (e.g. 'NDI'); loaded once and cached."""
    loaded = {}
    for path in sorted(INSTRUMENTS_DIR.glob("*.json")):
        instrument = _load_file(path)
        loaded[instrument.code] = instrument
    _check_offers(loaded)
    return MappingProxyType(loaded)


def instrument(code: str) -> Instrument:
    """The definition of one instrument by its code (case-insensitive); ScoringError if unknown."""
    found = instruments().get(code.upper()) if isinstance(code, str) else None
    if found is None:
        known = ", ".join(sorted(instruments()))
        raise ScoringError(str(code), f"unknown instrument code; known codes are {known}")
    return found


def whole_totals(defn: Instrument) -> bool:
    """Whether every total is a whole number: a plain sum of items that each score whole points."""
    if defn.scoring["rule"] != "sum":
        return False
    return all(
        i.kind != "measurement" and all(p.denominator == 1 for p in _item_point_range(i)) for i in defn.core_items
    )


def possible_totals(defn: Instrument) -> frozenset[Fraction] | None:
    """Every total a plain sum of choice items can reach (the HIT-6 cannot score 37), or None when the
    instrument is not such a sum (then only its range and ``whole_totals`` bound the total)."""
    items = defn.core_items
    if defn.scoring["rule"] != "sum" or defn.scoring.get("shared_limits") or any(i.kind != "choice" for i in items):
        return None
    reachable = {Fraction(0)}
    for item in items:
        reachable = {total + option.points for total in reachable for option in item.options}
    return frozenset(reachable)


# ---------------------------------------------------------------- answers


def _as_exact(instrument: Instrument, item: Item, answer: Any) -> Fraction:
    where = f"item {item.id} ({item.label})"
    if isinstance(answer, bool) or not isinstance(answer, int | float) or not math.isfinite(answer):
        raise ScoringError(instrument.code, f"{where}: answer {answer!r} is not a number", item.id)
    value = Fraction(repr(answer)) if isinstance(answer, float) else Fraction(answer)
    if item.kind != "measurement" and value.denominator != 1:
        raise ScoringError(instrument.code, f"{where}: answer {answer!r} must be a whole number", item.id)
    too_low = value <= item.minimum if item.exclusive_min else value < item.minimum
    if too_low or value > item.maximum or (item.kind == "choice" and value not in item.printed_values()):
        raise ScoringError(instrument.code, f"{where}: {_out_of_range(item, answer)}", item.id)
    return value


def _out_of_range(item: Item, answer: Any) -> str:
    if item.kind == "choice":
        return f"answer {answer!r} is not on the form's scale ({printed_scale(item)})"
    return f"answer {answer!r} is outside the accepted values ({printed_scale(item)})"


def printed_scale(item: Item) -> str:
    """The item's scale as the form prints it, for messages: each printed value with its label, the range of an
    item whose options are its scores (with their end anchors), or the range of a number."""
    if item.options_are_scores():
        return f"{item.options[0].label} to {item.options[-1].label}, whole numbers"
    if item.kind == "choice":
        return ", ".join(f"{_signed(o.printed, item)} = {o.label}" for o in item.options)
    low = f"above {plain_number(item.minimum)}" if item.exclusive_min else f"from {plain_number(item.minimum)}"
    return f"{low} to {plain_number(item.maximum)}"


def _signed(value: Fraction, item: Item) -> str:
    # a scale running through zero (GROC) prints its positive values with a plus sign
    return f"+{plain_number(value)}" if value > 0 and item.minimum < 0 else plain_number(value)


def plain_number(value: Fraction) -> str:
    """A printed value as the form prints it: a whole number without decimals, else its decimal."""
    return str(value.numerator) if value.denominator == 1 else str(float(value))


def _read_answers(instrument: Instrument, answers: Sequence[Any]) -> list[Fraction | None]:
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise ScoringError(instrument.code, "answers must be a list in item order")
    if len(answers) not in instrument.answer_counts:
        expected = " or ".join(str(c) for c in instrument.answer_counts)
        raise ScoringError(instrument.code, f"expected {expected} answers in item order, got {len(answers)}")
    padded = list(answers) + [None] * (len(instrument.items) - len(answers))
    return [
        None if answer is None else _as_exact(instrument, item, answer)
        for item, answer in zip(instrument.items, padded, strict=True)
    ]


def _check_missing(instrument: Instrument, answered: int, missing: list[Item]) -> None:
    rule, limit = instrument.missing["rule"], int(instrument.missing.get("value") or 0)  # an int unless "none"
    names = ", ".join(i.label for i in missing)
    if rule == "none" and missing:
        raise ScoringError(
            instrument.code,
            f"cannot be scored: every item must be answered; unanswered: {names}",
            missing[0].id,
        )
    if rule == "max_missing" and (len(missing) > limit or answered == 0):
        raise ScoringError(
            instrument.code,
            f"cannot be scored: {len(missing)} items unanswered ({names}); the published rule allows at most {limit}",
            missing[0].id,
        )
    if rule == "min_answered" and answered < limit:
        raise ScoringError(
            instrument.code,
            f"cannot be scored: at least {limit} of {len(instrument.core_items)} items must be answered; "
            f"{answered} were",
        )


# ---------------------------------------------------------------- scoring rules


def _sum(points: list[Fraction]) -> Fraction:
    return sum(points, Fraction(0))


def _percent_of_answered_max(points: list[Fraction], items: list[Item]) -> Fraction:
    possible = sum((_item_point_range(i)[1] for i in items), Fraction(0))
    return sum(points, Fraction(0)) / possible * 100


def _dash(points: list[Fraction]) -> Fraction:
    return (sum(points, Fraction(0)) / len(points) - 1) * 25


def _mean(points: list[Fraction]) -> Fraction:
    return sum(points, Fraction(0)) / len(points)


def _subscale_values(instrument: Instrument, answered: dict[str, Fraction]) -> dict[str, Fraction]:
    values = {}
    for sub in _subscales(instrument, where="scoring"):
        members = [i.id for i in instrument.core_items if i.subscale == sub["id"]]
        values[sub["id"]] = sum((answered[i] for i in members), Fraction(0)) / Fraction(sub["divisor"])
    return values


def _compute_total(instrument: Instrument, answered: dict[str, Fraction]) -> tuple[Fraction, dict[str, Fraction]]:
    rule = instrument.scoring["rule"]
    items = [i for i in instrument.core_items if i.id in answered]
    points = [answered[i.id] for i in items]
    if rule == "subscale_sum":
        subscales = _subscale_values(instrument, answered)
        return sum(subscales.values(), Fraction(0)), subscales
    if rule == "percent_of_answered_max":
        return _percent_of_answered_max(points, items), {}
    if rule == "sum":
        _check_shared_limits(instrument, answered)
        return _sum(points), {}
    return (_dash(points) if rule == "dash" else _mean(points)), {}


def _check_shared_limits(instrument: Instrument, answered: dict[str, Fraction]) -> None:
    for limit in instrument.scoring.get("shared_limits", []):
        together = sum((answered.get(i, Fraction(0)) for i in limit["items"]), Fraction(0))
        if together > limit["max"]:
            raise ScoringError(
                instrument.code,
                f"items {' and '.join(limit['items'])} add up to {plain_number(together)}, more than "
                f"{limit['max']}: {limit['why']}",
                limit["items"][-1],
            )


def _score_modules(instrument: Instrument, values: list[Fraction | None]) -> dict[str, Fraction]:
    """Optional modules (QuickDASH work, sport) are scored only when offered, and then need every item."""
    scores = {}
    for module, label in instrument.modules.items():
        members = [(i, v) for i, v in zip(instrument.items, values, strict=True) if i.module == module]
        given = [i.points(v) for i, v in members if v is not None]
        if not given:
            continue
        if len(given) != len(members):
            raise ScoringError(
                instrument.code,
                f"{label}: all {len(members)} items must be answered to score the module; {len(given)} were",
            )
        scores[module] = _dash(given) if instrument.scoring["rule"] == "dash" else _sum(given)
    return scores


def _round(value: Fraction, rounding: Mapping[str, Any]) -> float:
    if rounding["method"] == "truncate":
        scale = 10 ** rounding["decimals"]
        return float(math.trunc(value * scale) / scale)
    return float(value)


def _band(instrument: Instrument, total: float) -> str | None:
    label = None
    for band in instrument.bands:
        if total >= band.minimum:
            label = band.label
    return label


def score(instrument_code: str, answers: Sequence[int | float | None]) -> Score:
    """Score one instrument from answers in item order; raises ScoringError when it cannot be scored."""
    defn = instrument(instrument_code)
    values = _read_answers(defn, answers)
    by_id = {item.id: value for item, value in zip(defn.items, values, strict=True)}
    core = defn.core_items
    answered = {i.id: i.points(given) for i in core if (given := by_id[i.id]) is not None}
    _check_missing(defn, len(answered), [i for i in core if by_id[i.id] is None])
    total, subscales = _compute_total(defn, answered)
    subscales.update(_score_modules(defn, values))
    rounded = _round(total, defn.rounding)
    if not defn.scale_range[0] <= rounded <= defn.scale_range[1]:
        # cannot happen with a validated data file; guards against a scoring-rule bug reaching a record
        raise AssertionError(f"{defn.code} total {rounded} outside {defn.scale_range}")
    unscored = {i.id: float(given) for i in defn.items if not i.scored and (given := by_id[i.id]) is not None}
    return Score(
        instrument=defn.code,
        total=rounded,
        subscales={name: _round(value, defn.rounding) for name, value in subscales.items()},
        unit=defn.unit,
        items_answered=len(answered),
        band=_band(defn, rounded),
        scale_range=defn.scale_range,
        direction=defn.direction,
        unscored_items=unscored,
    )
