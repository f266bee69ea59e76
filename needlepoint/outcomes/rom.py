"""Range of motion: normal values, physiological bounds, percent of normal, and change against the MDC.

Normal values, bounds and measurement error come from ``data/rom_norms.json``, each with its source
key in the project's references and an ``unverified`` flag; the file also states how bounds were chosen and
which value is used where a source gives a range. A change in ROM is judged against the measurement method's
MDC, never against zero.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

NORMS_FILE = Path(__file__).parent / "data" / "rom_norms.json"


class RomDataError(ValueError):
    """The ROM data file is malformed; the message names the entry."""


class RomError(ValueError):
    """A ROM value, joint, movement, side or method is not acceptable; the message says why."""


@dataclass(frozen=True)
class Movement:
    """One joint movement with its normal value, source and accepted bounds (degrees)."""

    joint: str
    movement: str
    label: str
    normal: float
    source: str
    unverified: bool
    sided: bool
    minimum: float
    maximum: float
    methods: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class MeasurementError:
    """The MDC (degrees) for one method at one joint movement, with its source and the reason for the value."""

    value: float
    source: str
    why: str
    unverified: bool


@dataclass(frozen=True)
class RomChange:
    """Change in one movement between two measurements by the same method."""

    joint: str
    movement: str
    method: str
    before: float
    after: float
    degrees: float  # after − before; positive = more motion
    beyond_mdc: bool | None  # None when no MDC is sourced for this method and movement
    mdc: float | None
    mdc_source: str | None
    note: str


@dataclass(frozen=True)
class _Norms:
    movements: Mapping[tuple[str, str], Movement]
    errors: Mapping[tuple[str, str, str], MeasurementError]
    methods: tuple[str, ...]
    sides: tuple[str, ...]


def _fail(where: str, message: str) -> RomDataError:
    return RomDataError(f"data/rom_norms.json {where}: {message}")


def _number(raw: Mapping[str, Any], key: str, where: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, f"'{key}' must be a finite number, got {value!r}")
    return float(value)


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"'{key}' must be non-empty text")
    return value


def _parse_movement(joint: str, name: str, raw: Any, methods: tuple[str, ...]) -> Movement:
    where = f"{joint}.{name}"
    if not isinstance(raw, dict) or not isinstance(raw.get("bounds"), dict):
        raise _fail(where, "a movement needs an object with 'bounds'")
    if not isinstance(raw.get("unverified"), bool) or not isinstance(raw.get("sided"), bool):
        raise _fail(where, "'unverified' and 'sided' must be true or false")
    move = Movement(
        joint=joint,
        movement=name,
        label=_text(raw, "label", where),
        normal=_number(raw, "normal", where),
        source=_text(raw, "source", where),
        unverified=raw["unverified"],
        sided=raw["sided"],
        minimum=_number(raw["bounds"], "min", where + " bounds"),
        maximum=_number(raw["bounds"], "max", where + " bounds"),
        methods=methods,
        note=raw.get("note"),
    )
    if not move.minimum <= move.normal <= move.maximum or move.minimum >= move.maximum:
        raise _fail(where, f"bounds {move.minimum}..{move.maximum} must contain the normal value {move.normal}")
    for alt in raw.get("alternatives", []):
        if not move.minimum <= _number(alt, "normal", where + " alternative") <= move.maximum:
            raise _fail(where, f"alternative normal {alt['normal']} lies outside the bounds")
        _text(alt, "source", where + " alternative")
    return move


def _parse_joints(data: Mapping[str, Any], known_methods: tuple[str, ...]) -> dict[tuple[str, str], Movement]:
    movements = {}
    for joint, spec in data.items():
        methods = tuple(spec.get("methods", ()))
        if not methods or not set(methods) <= set(known_methods):
            raise _fail(joint, f"'methods' must be a non-empty subset of {known_methods}")
        _text(spec, "label", joint)
        for name, raw in spec.get("movements", {}).items():
            movements[(joint, name)] = _parse_movement(joint, name, raw, methods)
    return movements


def _parse_errors(
    entries: Any, movements: Mapping[tuple[str, str], Movement]
) -> dict[tuple[str, str, str], MeasurementError]:
    errors: dict[tuple[str, str, str], MeasurementError] = {}
    for n, raw in enumerate(entries):
        where = f"measurement_error {n}"
        joint, method = _text(raw, "joint", where), _text(raw, "method", where)
        error = MeasurementError(
            value=_number(raw, "mdc", where),
            source=_text(raw, "source", where),
            why=_text(raw, "why", where),
            unverified=bool(raw.get("unverified", False)),
        )
        if error.value <= 0:
            raise _fail(where, "'mdc' must be positive")
        for name in raw.get("movements", []):
            move = movements.get((joint, name))
            if move is None or method not in move.methods:
                raise _fail(where, f"{joint}.{name} with method '{method}' is not a known movement and method")
            if (joint, name, method) in errors:
                raise _fail(where, f"{joint}.{name} ({method}) has two MDC entries")
            errors[(joint, name, method)] = error
    return errors


@functools.cache
def _norms() -> _Norms:
    try:
        data = json.loads(NORMS_FILE.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _fail("", f"not valid JSON ({exc})") from exc
    methods = tuple(data.get("methods", {}))
    sides = tuple(data.get("sides", ()))
    if not methods or not sides:
        raise _fail("", "'methods' and 'sides' must be given")
    movements = _parse_joints(data.get("joints", {}), methods)
    errors = _parse_errors(data.get("measurement_error", []), movements)
    return _Norms(MappingProxyType(movements), MappingProxyType(errors), methods, sides)


def movements() -> tuple[Movement, ...]:
    """Every joint movement with its normal value, source, bounds, sidedness and accepted methods."""
    return tuple(_norms().movements.values())


def _movement(joint: str, movement: str) -> Movement:
    found = _norms().movements.get((joint, movement))
    if found is None:
        known = sorted({j for j, _ in _norms().movements})
        raise RomError(f"unknown joint movement '{joint} {movement}'; joints are {', '.join(known)}")
    return found


def _check_side(move: Movement, side: str | None) -> None:
    if move.sided and side not in _norms().sides:
        raise RomError(f"{move.joint} {move.movement}: give the side ({' or '.join(_norms().sides)})")
    if not move.sided and side is not None:
        raise RomError(f"{move.joint} {move.movement} has no side; leave side empty")


def _check_method(move: Movement, method: str | None) -> None:
    if method is not None and method not in move.methods:
        raise RomError(f"{move.joint}: method '{method}' is not accepted; use one of {', '.join(move.methods)}")


def _check_degrees(move: Movement, degrees: float) -> float:
    if isinstance(degrees, bool) or not isinstance(degrees, int | float) or not math.isfinite(degrees):
        raise RomError(f"{move.joint} {move.movement}: {degrees!r} is not a number of degrees")
    if not move.minimum <= degrees <= move.maximum:
        raise RomError(
            f"{move.joint} {move.movement}: {degrees:g}° is outside the accepted range "
            f"{move.minimum:g}° to {move.maximum:g}° (normal {move.normal:g}°); check the value and the units"
        )
    return float(degrees)


def validate_rom(
    joint: str, movement: str, degrees: float, side: str | None = None, method: str | None = None
) -> float:
    """Check a ROM measurement (joint, movement, degrees, side, method); return degrees or raise RomError."""
    move = _movement(joint, movement)
    _check_side(move, side)
    _check_method(move, method)
    return _check_degrees(move, degrees)


def percent_of_normal(joint: str, movement: str, degrees: float) -> float:
    """A measurement as a percent of the movement's normal value (e.g. 90° shoulder flexion = 50 %)."""
    move = _movement(joint, movement)
    if move.normal == 0:
        raise RomError(
            f"{joint} {movement}: the normal value is 0°, so percent of normal is undefined; "
            "report the degrees (negative = lacking extension)"
        )
    return _check_degrees(move, degrees) / move.normal * 100


def _exact(value: float) -> Fraction:
    # repr gives the decimal the clinician typed, so 40.3 − 30.7 compares with 9.6 exactly
    return Fraction(repr(value))


def rom_change(
    joint: str, movement: str, method: str, before: float, after: float, side: str | None = None
) -> RomChange:
    """Change between two measurements by one method, judged against that method's MDC for the movement."""
    move = _movement(joint, movement)
    if method not in move.methods:
        raise RomError(f"{joint}: method '{method}' is not accepted; use one of {', '.join(move.methods)}")
    if side is not None:
        _check_side(move, side)
    start, end = _check_degrees(move, before), _check_degrees(move, after)
    change = _exact(end) - _exact(start)
    error = _norms().errors.get((joint, movement, method))
    if error is None:
        note = f"no MDC is sourced for {method} at {joint} {movement}; the change cannot be judged against error"
        return RomChange(joint, movement, method, start, end, float(change), None, None, None, note)
    beyond = abs(change) >= _exact(error.value)
    verdict = "beyond" if beyond else "within"
    note = f"{float(abs(change)):g}° is {verdict} the MDC of {error.value:g}° ({error.why})"
    return RomChange(joint, movement, method, start, end, float(change), beyond, error.value, error.source, note)
