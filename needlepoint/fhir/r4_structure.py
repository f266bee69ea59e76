"""The FHIR R4 structure of a resource the import keeps as received, checked before anything is written. Pure
module, no Django.

A kept resource is stored and served back as it came, so it must be one a FHIR client can read: every element
one its type defines (the R4 StructureDefinitions, data/r4_kept_structure.json, written by
tools/r4_kept_structure.py), a list where the element repeats and a single value where it does not, nothing
empty, every required element there, a choice element (value[x]) in one of its types, and each primitive the
JSON kind R4 gives it (boolean, a whole number, a number, a string), a string written as R4's regex for its type
says (a date, a dateTime, a code, an id...). Codes are not checked against their value
sets and invariants are not evaluated: the sender's terminology and rules stay the sender's, and what is read
back is what was sent. The check walks the resource with a list, not by recursion: its depth is the sender's
choice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

STRUCTURE_FILE = Path(__file__).with_name("data") / "r4_kept_structure.json"
_WHOLE = {"integer": None, "positiveInt": 1, "unsignedInt": 0}  # the whole-number primitives and their least value
_BOOLEAN = "boolean"
_DECIMAL = "decimal"
MAX_PROBLEMS = 20  # a broken resource is refused on its first problems; the rest would say the same


@dataclass(frozen=True)
class Element:
    """One element of a type: how many (min, and max 1 or many) and its types (several for a choice)."""

    minimum: int
    many: bool
    types: tuple[str, ...]


@dataclass(frozen=True)
class Structures:
    """The kept resource types, R4's primitive types, and the elements of every type (by name as sent: a
    choice element is listed once per type, valueQuantity, valueString, ...) with the choices' own names."""

    kept: tuple[str, ...]
    primitives: frozenset[str]
    patterns: dict[str, re.Pattern[str]]  # the R4 regex of a primitive written as a JSON string
    elements: dict[str, dict[str, Element]]
    choices: dict[str, dict[str, tuple[str, ...]]]  # type -> choice (value[x]) -> its names as sent


@cache
def structures() -> Structures:
    """The structures of data/r4_kept_structure.json."""
    document = json.loads(STRUCTURE_FILE.read_text(encoding="utf-8"))
    elements: dict[str, dict[str, Element]] = {}
    choices: dict[str, dict[str, tuple[str, ...]]] = {}
    for path, defined in document["structures"].items():
        named: dict[str, Element] = {}
        for name, (minimum, maximum, types) in defined.items():
            if name.endswith("[x]"):
                stem = name.removesuffix("[x]")
                sent = tuple(stem + kind[0].upper() + kind[1:] for kind in types)
                choices.setdefault(path, {})[stem] = sent
                for kind, as_sent in zip(types, sent, strict=True):
                    named[as_sent] = Element(0, maximum == "*", (kind,))
                if minimum:
                    named[name] = Element(minimum, maximum == "*", tuple(types))  # only its minimum is read
            else:
                named[name] = Element(minimum, maximum == "*", tuple(types))
        elements[path] = named
    patterns = {kind: re.compile(pattern) for kind, pattern in document["patterns"].items()}
    return Structures(tuple(document["kept"]), frozenset(document["primitives"]), patterns, elements, choices)


def kept_types() -> tuple[str, ...]:
    """The resource types whose structure is known here (those an import may keep as received)."""
    return structures().kept


def _primitive_problem(kind: str, value: Any) -> str:
    """What is wrong with a primitive's JSON value ("" when nothing is)."""
    if kind == _BOOLEAN:
        return "" if isinstance(value, bool) else "is not true or false"
    if kind in _WHOLE:
        if isinstance(value, bool) or not isinstance(value, int):
            return "is not a whole number"
        least = _WHOLE[kind]
        return f"is less than {least}" if least is not None and value < least else ""
    if kind == _DECIMAL:
        return "" if isinstance(value, int | float) and not isinstance(value, bool) else "is not a number"
    if not isinstance(value, str):
        return "is not a string"
    if not value.strip():
        return "is empty"
    pattern = structures().patterns.get(kind)
    return "is not written as R4 writes it" if pattern is not None and not pattern.fullmatch(value) else ""


def _value_problems(kind: str, value: Any, path: str, waiting: list[tuple[str, Any, str]]) -> list[str]:
    """The problems of one value of ``kind``; a complex value's own elements go on ``waiting``."""
    found = structures()
    if kind in found.primitives:
        problem = _primitive_problem(kind, value)
        return [f"{path} {problem} ({kind})."] if problem else []
    if kind == "Resource":
        ok = isinstance(value, dict) and isinstance(value.get("resourceType"), str)
        return [] if ok else [f"{path} is not a resource."]
    if not isinstance(value, dict):
        return [f"{path} is not an object ({kind})."]
    if not value:
        return [f"{path} is empty: FHIR has no empty elements."]
    waiting.append((kind, value, path))
    return []


def _object_problems(kind: str, value: dict[str, Any], path: str, waiting: list[tuple[str, Any, str]]) -> list[str]:
    """The problems of one object of ``kind``: unknown, misshapen or missing elements."""
    found = structures()
    defined = found.elements[kind]
    problems: list[str] = []
    for name, child in value.items():
        if name == "resourceType" and "." not in kind and kind in found.kept:
            continue
        own = name.removeprefix("_")
        element = defined.get(own)
        if element is None or own.endswith("[x]"):
            problems.append(f"{path}.{name} is not an element of {kind} in FHIR R4.")
            continue
        if name.startswith("_"):  # a primitive's id and extensions
            if element.types[0] not in found.primitives:
                problems.append(f"{path}.{name}: {own} is not a primitive element.")
            continue
        where = f"{path}.{name}"
        if element.many:
            if not isinstance(child, list) or not child:
                problems.append(f"{where} repeats in FHIR R4: send a list of one or more.")
                continue
            for position, item in enumerate(child):
                problems += _value_problems(element.types[0], item, f"{where}[{position}]", waiting)
        elif isinstance(child, list):
            problems.append(f"{where} does not repeat in FHIR R4: send one value, not a list.")
        else:
            problems += _value_problems(element.types[0], child, where, waiting)
    for name, element in defined.items():
        if element.minimum and not _present(kind, name, value):
            problems.append(f"{path}.{name} is required in FHIR R4 {kind}.")
    for stem, names in found.choices.get(kind, {}).items():
        sent = [n for n in names if n in value]
        if len(sent) > 1:
            problems.append(f"{path}: {stem}[x] is sent more than once ({', '.join(sent)}).")
    return problems


def _present(kind: str, name: str, value: dict[str, Any]) -> bool:
    """Whether a required element (a choice: any of its types) is there, or its primitive's extension is."""
    if name.endswith("[x]"):
        names = structures().choices[kind][name.removesuffix("[x]")]
        return any(n in value or f"_{n}" in value for n in names)
    return name in value or f"_{name}" in value


def structure_problems(resource: dict[str, Any], path: str) -> list[str]:
    """Every problem with a kept resource's structure (see the module), each naming where (``path`` is the
    resource's own, e.g. ``Bundle.entry[3].resource``); at most ``MAX_PROBLEMS``."""
    kind = resource.get("resourceType")
    if kind not in structures().kept:
        return [f"{path}: {kind!r} is not a type kept as received."]
    problems: list[str] = []
    waiting: list[tuple[str, Any, str]] = [(str(kind), resource, path)]
    while waiting and len(problems) < MAX_PROBLEMS:
        kind_now, value, where = waiting.pop()
        problems += _object_problems(kind_now, value, where, waiting)
    return problems[:MAX_PROBLEMS]
