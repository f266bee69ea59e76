"""A structural validator for FHIR R4 JSON, driven by the core StructureDefinitions. Pure module, no Django.

It reads ``StructureDefinition-*.json`` files, plain or gzip-compressed (``.json.gz``), from a folder (the tests
pass the R4 core definitions in tests/data) and checks a resource against its type's snapshot:

- every element name is known (choice elements by their typed name, ``_name`` primitive extensions too);
- required elements are present (min cardinality) and repeated ones stay within their max;
- arrays where the element repeats, single values where it does not, no empty objects, arrays or strings;
- primitive values have the JSON kind and the text format of their type (date, dateTime, code, id, ...);
- a literal reference (``Type/id``) names a type the element allows (e.g. AdverseEvent.suspectEntity.instance);
- contained and bundled resources are checked the same way, by their own type.

General-purpose datatypes come from ``tests.fhir.structural.datatypes`` unless their StructureDefinition is in
the folder. Not checked: invariants (FHIRPath constraints), value-set bindings, profiles. Types without a
definition are reported as warnings ("not checked"), never silently passed.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from needlepoint.fhir.mapping import Issue
from tests.fhir.structural import datatypes

_FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
_SYSTEM_STRING = "http://hl7.org/fhirpath/System.String"
_LITERAL_REFERENCE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://\S+/)?([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(/_history/\S+)?$")


@dataclass(frozen=True)
class _Element:
    name: str
    types: tuple[str, ...]
    min: int
    max: str
    targets: tuple[str, ...] = ()  # resource types a Reference may point to; empty = any
    content: tuple[str, str] | None = None  # (definition, path) whose children a backbone element takes

    @property
    def repeats(self) -> bool:
        """Whether the element is a JSON array (max above 1)."""
        return self.max == "*" or int(self.max) > 1

    def json_names(self) -> dict[str, str]:
        """JSON property name -> type code (one per type for a choice element)."""
        if self.name.endswith("[x]"):
            base = self.name[:-3]
            return {base + t[0].upper() + t[1:]: t for t in self.types}
        return {self.name: self.types[0] if self.types else "BackboneElement"}


def _type_codes(raw_types: list[dict[str, Any]], path: str, root: str) -> tuple[str, ...]:
    found = []
    for raw in raw_types:
        code = raw["code"]
        if code == _SYSTEM_STRING:
            fhir_type = next(
                (x.get("valueUrl") for x in raw.get("extension", []) if x["url"] == _FHIR_TYPE_EXTENSION), None
            )
            code = "id" if path == f"{root}.id" else (fhir_type or "string")
        found.append(code)
    return tuple(found)


def _targets(raw_types: list[dict[str, Any]]) -> tuple[str, ...]:
    names = []
    for raw in raw_types:
        for profile in raw.get("targetProfile", []):
            names.append(profile.rsplit("/", 1)[-1])
    return tuple(names)


class StructureDefinitions:
    """The element trees of the StructureDefinitions in one folder (specialisations: base resources and types)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._children: dict[tuple[str, str], list[_Element]] = {}
        self.resource_types: set[str] = set()
        self.complex_types: set[str] = set()
        files = sorted(
            [*self.folder.glob("StructureDefinition-*.json"), *self.folder.glob("StructureDefinition-*.json.gz")]
        )
        if not files:
            raise FileNotFoundError(f"No StructureDefinition-*.json(.gz) files in {self.folder}")
        for file in files:
            definition = read_json(file)
            if definition.get("derivation") != "specialization" or "snapshot" not in definition:
                continue  # profiles (constraints) are not checked
            kind = definition.get("kind")
            if kind == "resource":
                self.resource_types.add(definition["type"])
            elif kind == "complex-type":
                self.complex_types.add(definition["type"])
            else:
                continue
            self._load(definition)

    def _load(self, definition: dict[str, Any]) -> None:
        root = definition["type"]
        for raw in definition["snapshot"]["element"]:
            path = raw["path"]
            if "." not in path:
                continue
            parent, name = path.rsplit(".", 1)
            raw_types = raw.get("type", [])
            types = _type_codes(raw_types, path, root)
            content = None
            if "contentReference" in raw:
                content = (root, raw["contentReference"].lstrip("#"))
                types = ("BackboneElement",)
            elif types in (("BackboneElement",), ("Element",)):
                content = (root, path)
            element = _Element(name, types, int(raw["min"]), raw["max"], _targets(raw_types), content)
            self._children.setdefault((root, parent), []).append(element)

    def children(self, definition: str, path: str) -> list[_Element] | None:
        """The child elements at ``path`` of a loaded definition, or a built-in datatype's elements."""
        if (definition, path) in self._children:
            return self._children[(definition, path)]
        if definition == path and definition in self.resource_types | self.complex_types:
            return []
        if definition == path:
            if definition == "Element":
                return [_Element(e.name, e.types, e.min, e.max) for e in datatypes.parse_elements(datatypes.ELEMENT)]
            built_in = datatypes.complex_type_elements(definition)
            if built_in is not None:
                return [_Element(e.name, e.types, e.min, e.max) for e in built_in]
        return None


def read_json(path: Path) -> Any:
    """A JSON file, plain or gzip-compressed (by its ``.gz`` suffix)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return json.loads(raw.decode("utf-8"))


@cache
def definitions(folder: str) -> StructureDefinitions:
    """The StructureDefinitions of a folder, read once per process."""
    return StructureDefinitions(folder)


class Validator:
    """Checks FHIR R4 JSON resources against StructureDefinitions; ``validate`` returns the issues found."""

    def __init__(self, folder: Path | str) -> None:
        self.definitions = definitions(str(Path(folder).resolve()))

    def validate(self, resource: Any) -> list[Issue]:
        """Every structural problem of ``resource`` (errors) and what could not be checked (warnings)."""
        issues: list[Issue] = []
        self._resource(resource, "", issues)
        return issues

    def errors(self, resource: Any) -> list[Issue]:
        """Only the errors of ``validate``."""
        return [i for i in self.validate(resource) if i.severity == "error"]

    # --------------------------------------------------------------------------------------------- walking

    def _resource(self, value: Any, where: str, issues: list[Issue]) -> None:
        if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
            issues.append(_error("structure", where or "(root)", "expected a resource: an object with resourceType"))
            return
        resource_type = value["resourceType"]
        here = f"{where}({resource_type})" if where else resource_type
        if resource_type not in self.definitions.resource_types:
            issues.append(
                Issue("warning", "not-supported", f"no StructureDefinition for {resource_type}; not checked", (here,))
            )
            return
        self._object(value, (resource_type, resource_type), here, issues, resource_root=True)

    def _object(
        self,
        value: Any,
        context: tuple[str, str],
        where: str,
        issues: list[Issue],
        *,
        resource_root: bool = False,
    ) -> None:
        if not isinstance(value, dict):
            issues.append(_error("structure", where, f"expected an object, got {_kind(value)}"))
            return
        if not value:
            issues.append(_error("structure", where, "empty objects are not allowed (ele-1)"))
            return
        children = self.definitions.children(*context)
        if children is None:
            issues.append(Issue("warning", "not-supported", f"type {context[0]} is not known; not checked", (where,)))
            return
        names: dict[str, tuple[_Element, str]] = {}
        for element in children:
            for json_name, type_code in element.json_names().items():
                names[json_name] = (element, type_code)
        present: dict[str, list[str]] = {}
        for key, item in value.items():
            if resource_root and key == "resourceType":
                continue
            if key.startswith("_") and key[1:] in names and names[key[1:]][1] in datatypes.PRIMITIVES:
                self._primitive_extension(item, names[key[1:]][0], value.get(key[1:]), f"{where}.{key}", issues)
                present.setdefault(names[key[1:]][0].name, []).append(key[1:])
                continue
            if key not in names:
                issues.append(_error("structure", f"{where}.{key}", f"unknown element '{key}'"))
                continue
            element, type_code = names[key]
            present.setdefault(element.name, []).append(key)
            self._element(item, element, type_code, f"{where}.{key}", issues, nulls_allowed=f"_{key}" in value)
        for element in children:
            keys = sorted(set(present.get(element.name, [])))
            if len(keys) > 1:
                issues.append(
                    _error("structure", where, f"only one of {', '.join(keys)} may be given ({element.name})")
                )
            if element.min >= 1 and not keys:
                issues.append(
                    _error("required", f"{where}.{element.name}", f"missing required element '{element.name}'")
                )

    def _element(
        self, item: Any, element: _Element, type_code: str, where: str, issues: list[Issue], *, nulls_allowed: bool
    ) -> None:
        if element.repeats:
            if not isinstance(item, list):
                issues.append(_error("structure", where, f"'{element.name}' repeats (max {element.max}): use an array"))
                return
            if not item:
                issues.append(_error("structure", where, "empty arrays are not allowed"))
                return
            if len(item) < element.min:
                issues.append(_error("required", where, f"needs at least {element.min} value(s), has {len(item)}"))
            if element.max != "*" and len(item) > int(element.max):
                issues.append(_error("structure", where, f"at most {element.max} value(s) allowed, has {len(item)}"))
            for index, entry in enumerate(item):
                if entry is None and nulls_allowed and type_code in datatypes.PRIMITIVES:
                    continue
                self._single(entry, element, type_code, f"{where}[{index}]", issues)
            return
        if isinstance(item, list):
            issues.append(_error("structure", where, f"'{element.name}' does not repeat (max 1): not an array"))
            return
        self._single(item, element, type_code, where, issues)

    def _single(self, item: Any, element: _Element, type_code: str, where: str, issues: list[Issue]) -> None:
        if item is None:
            issues.append(_error("structure", where, "null is not a value"))
        elif type_code in datatypes.PRIMITIVES:
            problem = datatypes.primitive_problem(type_code, item)
            if problem:
                issues.append(_error("value", where, problem))
        elif type_code == "Resource":
            self._resource(item, where, issues)
        elif element.content is not None:
            self._object(item, element.content, where, issues)
        else:
            self._object(item, (type_code, type_code), where, issues)
            if type_code == "Reference" and isinstance(item, dict):
                self._reference_target(item, element, where, issues)

    def _primitive_extension(self, item: Any, element: _Element, primary: Any, where: str, issues: list[Issue]) -> None:
        if element.repeats:
            if not isinstance(item, list):
                issues.append(_error("structure", where, "a repeating primitive's extensions are an array"))
                return
            if isinstance(primary, list) and len(primary) != len(item):
                issues.append(_error("structure", where, "must have as many entries as the values it extends"))
            for index, entry in enumerate(item):
                if entry is not None:
                    self._object(entry, ("Element", "Element"), f"{where}[{index}]", issues)
            return
        self._object(item, ("Element", "Element"), where, issues)

    def _reference_target(self, item: dict[str, Any], element: _Element, where: str, issues: list[Issue]) -> None:
        literal = item.get("reference")
        if not isinstance(literal, str) or not element.targets or "Resource" in element.targets:
            return
        match = _LITERAL_REFERENCE.match(literal)
        if match and match.group(1) not in element.targets:
            allowed = ", ".join(element.targets)
            issues.append(_error("invalid", f"{where}.reference", f"{match.group(1)} is not allowed here ({allowed})"))


def _error(code: str, where: str, message: str) -> Issue:
    return Issue("error", code, message, (where,))


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), repr(value))


def describe(issues: Iterable[Issue]) -> str:
    """Issues one per line, for test failure messages."""
    return "\n".join(f"{i.severity} {', '.join(i.expression)}: {i.diagnostics}" for i in issues)
