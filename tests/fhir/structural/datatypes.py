"""FHIR R4 (4.0.1) general-purpose datatypes and primitive formats, for the structural validator. Pure module.

The resource StructureDefinitions the validator reads name datatypes (HumanName, CodeableConcept, ...) without
defining them; their StructureDefinitions live in the core package's profiles-types, which the tests' folder
does not hold. So their elements are written out here from the R4 specification's datatype pages
(https://hl7.org/fhir/R4/datatypes.html, metadatatypes.html, references.html, extensibility.html,
narrative.html). A datatype StructureDefinition found in the validator's folder replaces the entry here.
When node and the npm ``fhir`` package are present, a test compares this table with that package's own R4
type definitions.

Each element is ``name:type[|type...] min..max``; ``[x]`` marks a choice element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Every complex datatype starts with Element's two elements; BackboneElement types add modifierExtension.
ELEMENT = "id:string 0..1; extension:Extension 0..*"
BACKBONE = ELEMENT + "; modifierExtension:Extension 0..*"

# Types allowed for Extension.value[x] (R4 "open type" list).
OPEN_TYPES = (
    "base64Binary|boolean|canonical|code|date|dateTime|decimal|id|instant|integer|markdown|oid|positiveInt|"
    "string|time|unsignedInt|uri|url|uuid|Address|Age|Annotation|Attachment|CodeableConcept|Coding|ContactPoint|"
    "Count|Distance|Duration|HumanName|Identifier|Money|Period|Quantity|Range|Ratio|Reference|SampledData|"
    "Signature|Timing|ContactDetail|Contributor|DataRequirement|Expression|ParameterDefinition|RelatedArtifact|"
    "TriggerDefinition|UsageContext|Dosage|Meta"
)
_QUANTITY = "value:decimal 0..1; comparator:code 0..1; unit:string 0..1; system:uri 0..1; code:code 0..1"

COMPLEX_TYPES: dict[str, str] = {
    "Extension": f"url:uri 1..1; value[x]:{OPEN_TYPES} 0..1",
    "Meta": (
        "versionId:id 0..1; lastUpdated:instant 0..1; source:uri 0..1; profile:canonical 0..*; "
        "security:Coding 0..*; tag:Coding 0..*"
    ),
    "Narrative": "status:code 1..1; div:xhtml 1..1",
    "Identifier": (
        "use:code 0..1; type:CodeableConcept 0..1; system:uri 0..1; value:string 0..1; period:Period 0..1; "
        "assigner:Reference 0..1"
    ),
    "HumanName": (
        "use:code 0..1; text:string 0..1; family:string 0..1; given:string 0..*; prefix:string 0..*; "
        "suffix:string 0..*; period:Period 0..1"
    ),
    "ContactPoint": "system:code 0..1; value:string 0..1; use:code 0..1; rank:positiveInt 0..1; period:Period 0..1",
    "Address": (
        "use:code 0..1; type:code 0..1; text:string 0..1; line:string 0..*; city:string 0..1; "
        "district:string 0..1; state:string 0..1; postalCode:string 0..1; country:string 0..1; period:Period 0..1"
    ),
    "CodeableConcept": "coding:Coding 0..*; text:string 0..1",
    "Coding": "system:uri 0..1; version:string 0..1; code:code 0..1; display:string 0..1; userSelected:boolean 0..1",
    "Reference": "reference:string 0..1; type:uri 0..1; identifier:Identifier 0..1; display:string 0..1",
    "Quantity": _QUANTITY,
    "SimpleQuantity": _QUANTITY,
    "Age": _QUANTITY,
    "Count": _QUANTITY,
    "Distance": _QUANTITY,
    "Duration": _QUANTITY,
    "Money": "value:decimal 0..1; currency:code 0..1",
    "Period": "start:dateTime 0..1; end:dateTime 0..1",
    "Range": "low:SimpleQuantity 0..1; high:SimpleQuantity 0..1",
    "Ratio": "numerator:Quantity 0..1; denominator:Quantity 0..1",
    "SampledData": (
        "origin:SimpleQuantity 1..1; period:decimal 1..1; factor:decimal 0..1; lowerLimit:decimal 0..1; "
        "upperLimit:decimal 0..1; dimensions:positiveInt 1..1; data:string 0..1"
    ),
    "Annotation": "author[x]:Reference|string 0..1; time:dateTime 0..1; text:markdown 1..1",
    "Attachment": (
        "contentType:code 0..1; language:code 0..1; data:base64Binary 0..1; url:url 0..1; size:unsignedInt 0..1; "
        "hash:base64Binary 0..1; title:string 0..1; creation:dateTime 0..1"
    ),
    "Signature": (
        "type:Coding 1..*; when:instant 1..1; who:Reference 1..1; onBehalfOf:Reference 0..1; "
        "targetFormat:code 0..1; sigFormat:code 0..1; data:base64Binary 0..1"
    ),
    "Timing": "event:dateTime 0..*; repeat:Timing.repeat 0..1; code:CodeableConcept 0..1",
    "Timing.repeat": (
        "bounds[x]:Duration|Range|Period 0..1; count:positiveInt 0..1; countMax:positiveInt 0..1; "
        "duration:decimal 0..1; durationMax:decimal 0..1; durationUnit:code 0..1; frequency:positiveInt 0..1; "
        "frequencyMax:positiveInt 0..1; period:decimal 0..1; periodMax:decimal 0..1; periodUnit:code 0..1; "
        "dayOfWeek:code 0..*; timeOfDay:time 0..*; when:code 0..*; offset:unsignedInt 0..1"
    ),
    "ContactDetail": "name:string 0..1; telecom:ContactPoint 0..*",
    "UsageContext": "code:Coding 1..1; value[x]:CodeableConcept|Quantity|Range|Reference 1..1",
}
BACKBONE_TYPES = frozenset({"Timing"})  # R4 datatypes derived from BackboneElement (of those listed)

# Primitive types: (JSON kind, regular expression of the value's text from the R4 specification).
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_MONTH_DAY = r"-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
PRIMITIVES: dict[str, tuple[str, str | None]] = {
    "boolean": ("boolean", None),
    "integer": ("integer", r"-?([0]|([1-9][0-9]*))"),
    "unsignedInt": ("integer", r"[0]|([1-9][0-9]*)"),
    "positiveInt": ("integer", r"\+?[1-9][0-9]*"),
    "decimal": ("number", None),
    "string": ("string", None),
    "markdown": ("string", None),
    "xhtml": ("string", r"(?s)\s*<div[\s>].*</div>\s*"),  # (?s): one way to match, no backtracking blow-up
    "code": ("string", r"[^\s]+(\s[^\s]+)*"),
    "id": ("string", r"[A-Za-z0-9\-\.]{1,64}"),
    "uri": ("string", r"\S*"),
    "url": ("string", r"\S*"),
    "canonical": ("string", r"\S*"),
    "oid": ("string", r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+"),
    "uuid": ("string", r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "base64Binary": ("string", None),  # checked below without R4's nested-quantifier pattern
    "date": ("string", _YEAR + r"(" + _MONTH_DAY + r")?)?"),
    "dateTime": ("string", _YEAR + r"(" + _MONTH_DAY + r"(T" + _TIME + _ZONE + r")?)?)?"),
    "instant": ("string", _YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T" + _TIME + _ZONE),
    "time": ("string", _TIME),
}
INTEGER_RANGE = (-(2**31), 2**31 - 1)
_BASE64 = re.compile(r"[0-9a-zA-Z+/]*={0,2}")
_COMPILED = {name: re.compile(pattern) for name, (_, pattern) in PRIMITIVES.items() if pattern}


@dataclass(frozen=True)
class ElementDef:
    """One element of a type: its name (``value[x]`` for a choice), allowed type codes and cardinality."""

    name: str
    types: tuple[str, ...]
    min: int
    max: str  # "1", "*" or a number

    @property
    def is_choice(self) -> bool:
        """Whether the element is a choice (``name[x]``)."""
        return self.name.endswith("[x]")

    @property
    def repeats(self) -> bool:
        """Whether the element may hold more than one value (a JSON array)."""
        return self.max == "*" or int(self.max) > 1


def parse_elements(spec: str) -> tuple[ElementDef, ...]:
    """The elements of a ``name:type|type min..max; ...`` specification."""
    elements = []
    for part in spec.split(";"):
        name_types, cardinality = part.strip().rsplit(" ", 1)
        name, types = name_types.split(":", 1)
        low, high = cardinality.split("..")
        elements.append(ElementDef(name, tuple(types.split("|")), int(low), high))
    return tuple(elements)


def complex_type_elements(type_code: str) -> tuple[ElementDef, ...] | None:
    """Every element of a complex datatype, Element's own included; None for a type not listed."""
    spec = COMPLEX_TYPES.get(type_code)
    if spec is None:
        return None
    base = BACKBONE if type_code in BACKBONE_TYPES else ELEMENT
    return parse_elements(base) + parse_elements(spec)


def primitive_problem(type_code: str, value: object) -> str | None:
    """Why ``value`` is not a valid JSON value of the primitive type, or None if it is."""
    kind, _ = PRIMITIVES[type_code]
    if kind == "boolean":
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected a whole JSON number, got {value!r}"
        if not INTEGER_RANGE[0] <= value <= INTEGER_RANGE[1]:
            return f"{value} is outside the 32-bit integer range"
        if type_code == "positiveInt" and value < 1:
            return f"expected a positive integer, got {value}"
        if type_code == "unsignedInt" and value < 0:
            return f"expected a non-negative integer, got {value}"
        return None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected a JSON number, got {value!r}"
        return None
    if not isinstance(value, str):
        return f"expected a JSON string, got {value!r}"
    if not value.strip() and type_code not in ("markdown",):
        return "empty or blank strings are not allowed (ele-1)"
    if not value:
        return "empty strings are not allowed (ele-1)"
    if type_code == "base64Binary":
        packed = re.sub(r"\s+", "", value)
        if len(packed) % 4 or not _BASE64.fullmatch(packed):
            return "not valid base64"
        return None
    pattern = _COMPILED.get(type_code)
    if pattern is not None and not pattern.fullmatch(value):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"{shown!r} is not a valid {type_code}"
    return None
