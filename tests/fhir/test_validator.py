"""The structural validator: it passes every official R4 example and catches broken copies of them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.fhir.conftest import DEFINITIONS, EXAMPLES, example, synthea_bundle, synthea_files
from tests.fhir.structural.datatypes import complex_type_elements, primitive_problem
from tests.fhir.structural.validator import StructureDefinitions, Validator, describe


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*-*.json"))


@pytest.mark.parametrize("name", example_names())
def test_every_official_example_passes(validator: Validator, name: str) -> None:
    resource = example(name)
    assert validator.errors(resource) == [], describe(validator.validate(resource))


def test_the_examples_cover_every_definition_in_the_folder(validator: Validator) -> None:
    checked = {example(name)["resourceType"] for name in example_names()}
    assert validator.definitions.resource_types <= checked | {"Observation"}
    assert len(example_names()) > 60


@pytest.mark.parametrize("path", synthea_files(), ids=lambda p: p.name.split("_")[0])
def test_synthea_bundles_have_no_structural_errors(validator: Validator, path) -> None:
    issues = validator.validate(synthea_bundle(path))
    assert [i for i in issues if i.severity == "error"] == [], describe(issues)
    # Types without a definition in the folder are reported, not passed in silence.
    assert any("no StructureDefinition for Claim" in i.diagnostics for i in issues)


def broken(name: str, change) -> dict[str, Any]:
    resource = copy.deepcopy(example(name))
    change(resource)
    return resource


def _set(key: str, value: Any):
    return lambda r: r.__setitem__(key, value)


def _drop(key: str):
    return lambda r: r.pop(key)


MUTATIONS = [
    # (example, change, expected expression, words in the message)
    ("Observation-example", _drop("status"), "Observation.status", "missing required element 'status'"),
    ("Observation-example", _drop("code"), "Observation.code", "missing required element 'code'"),
    ("AdverseEvent-example", _drop("actuality"), "AdverseEvent.actuality", "missing required"),
    ("AdverseEvent-example", _drop("subject"), "AdverseEvent.subject", "missing required"),
    ("Consent-consent-example-basic", _drop("scope"), "Consent.scope", "missing required"),
    ("Patient-example", _set("favouriteColour", "blue"), "Patient.favouriteColour", "unknown element"),
    ("Patient-example", _set("birthDate", "1974-13-25"), "Patient.birthDate", "not a valid date"),
    ("Patient-example", _set("birthDate", 19741225), "Patient.birthDate", "expected a JSON string"),
    ("Patient-example", _set("active", "true"), "Patient.active", "expected true or false"),
    ("Patient-example", _set("gender", ["male"]), "Patient.gender", "does not repeat"),
    ("Patient-example", _set("gender", "ma le  x"), "Patient.gender", "not a valid code"),
    ("Patient-example", _set("gender", ""), "Patient.gender", "empty"),
    ("Patient-example", _set("name", {"family": "Chalmers"}), "Patient.name", "repeats"),
    ("Patient-example", _set("name", []), "Patient.name", "empty arrays"),
    ("Patient-example", _set("id", "no spaces allowed"), "Patient.id", "not a valid id"),
    ("Patient-example", lambda r: r.update(deceasedBoolean=False, deceasedDateTime="2015"), "Patient", "only one of"),
    ("Patient-example", _set("deceasedString", "no"), "Patient.deceasedString", "unknown element"),
    ("Observation-example", _set("valueQuantity", {"value": "185"}), "Observation.valueQuantity.value", "JSON number"),
    ("Observation-example", _set("valueQuantity", {}), "Observation.valueQuantity", "empty objects"),
    (
        "Observation-example",
        _set("effectiveDateTime", "2016-05-18T22:33:22"),
        "Observation.effectiveDateTime",
        "not a valid dateTime",
    ),
    ("Observation-example", _set("issued", "2013-04-03"), "Observation.issued", "not a valid instant"),
    (
        "Procedure-example",
        _set("note", [{"authorString": "Dr Adam Careful"}]),
        "Procedure.note[0].text",
        "missing required element 'text'",
    ),
    (
        "AdverseEvent-example",
        lambda r: r.update(suspectEntity=[{"causality": [{"productRelatedness": "likely"}]}]),
        "AdverseEvent.suspectEntity[0].instance",
        "missing required",
    ),
    (
        "AdverseEvent-example",
        lambda r: r.update(suspectEntity=[{"instance": {"reference": "Observation/1"}}]),
        "AdverseEvent.suspectEntity[0].instance.reference",
        "Observation is not allowed here",
    ),
    (
        "Condition-example",
        lambda r: r["code"]["coding"][0].update(userSelected="yes"),
        "Condition.code.coding[0].userSelected",
        "expected true or false",
    ),
    (
        "Patient-example",
        lambda r: r["name"][0].update(given="Peter"),
        "Patient.name[0].given",
        "repeats",
    ),
    (
        "Bundle-bundle-transaction",
        lambda r: r["entry"][0]["resource"].pop("resourceType"),
        "Bundle.entry[0].resource",
        "expected a resource",
    ),
    (
        "Bundle-bundle-transaction",
        lambda r: r["entry"][0]["request"].pop("method"),
        "Bundle.entry[0].request.method",
        "missing required",
    ),
    (
        "Consent-consent-example-basic",
        lambda r: r["provision"].update(provision=[{"type": "deny", "colour": "red"}]),
        "Consent.provision.provision[0].colour",
        "unknown element",
    ),
    (
        "Questionnaire-f201",
        lambda r: r["item"][0].setdefault("item", [{"text": "nested"}]),
        "Questionnaire.item[0].item[0]",
        "missing required element",
    ),
    ("Patient-example", lambda r: r["telecom"][0].update(rank=0), "Patient.telecom[0].rank", "positive integer"),
    ("Patient-example", _set("_birthDate", {"colour": 1}), "Patient._birthDate.colour", "unknown element"),
]


@pytest.mark.parametrize(("name", "change", "where", "words"), MUTATIONS, ids=[f"{m[0]}:{m[3]}" for m in MUTATIONS])
def test_a_broken_example_is_caught(validator: Validator, name: str, change, where: str, words: str) -> None:
    issues = validator.errors(broken(name, change))
    found = [i for i in issues if words in i.diagnostics and any(e.startswith(where) for e in i.expression)]
    assert found, describe(issues)


def test_r4_allows_a_procedure_as_adverse_event_suspect(validator: Validator) -> None:
    """clinical.md §F.4 asked to check this against R4 4.0.1: the StructureDefinition lists Procedure."""
    definitions = StructureDefinitions(DEFINITIONS)
    instance = next(
        e for e in definitions.children("AdverseEvent", "AdverseEvent.suspectEntity") if e.name == "instance"
    )
    assert "Procedure" in instance.targets
    event = broken(
        "AdverseEvent-example", lambda r: r.update(suspectEntity=[{"instance": {"reference": "Procedure/9"}}])
    )
    assert validator.errors(event) == []


def test_primitive_extensions_are_allowed_alongside_values(validator: Validator) -> None:
    patient = broken(
        "Patient-example",
        _set("_birthDate", {"extension": [{"url": "http://example.org/x", "valueBoolean": True}]}),
    )
    assert validator.errors(patient) == []


def test_an_unknown_resource_type_is_a_warning_not_a_pass(validator: Validator) -> None:
    issues = validator.validate({"resourceType": "Basic", "id": "x"})
    assert [(i.severity, i.code) for i in issues] == [("warning", "not-supported")]


def test_a_folder_without_definitions_is_refused(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        StructureDefinitions(tmp_path)


@pytest.mark.parametrize(
    ("type_code", "value", "ok"),
    [
        ("date", "2024", True),
        ("date", "2024-02", True),
        ("date", "2024-02-30", True),  # the R4 pattern checks the shape, not the calendar
        ("date", "24-02-01", False),
        ("dateTime", "2024-02-01T10:00:00Z", True),
        ("dateTime", "2024-02-01T10:00Z", False),
        ("instant", "2024-02-01T10:00:00.123+01:00", True),
        ("time", "25:00:00", False),
        ("integer", 2**31, False),
        ("integer", True, False),
        ("decimal", 1, True),
        ("unsignedInt", -1, False),
        ("uri", "has space", False),
        ("oid", "urn:oid:1.2.3", True),
        ("uuid", "urn:uuid:A0000000-0000-0000-0000-000000000000", False),
        ("base64Binary", "aGVsbG8=", True),
        ("base64Binary", "aGVs\nbG8=", True),
        ("base64Binary", "aGVsbG8", False),
        ("base64Binary", "aGVs bG8!", False),
        ("xhtml", '<div xmlns="http://www.w3.org/1999/xhtml">\n<p>x</p></div>', True),
        ("xhtml", "<div>" + " " * 20_000, False),  # fails fast: no catastrophic backtracking
        ("markdown", "", False),
    ],
)
def test_primitive_formats(type_code: str, value: object, ok: bool) -> None:
    assert (primitive_problem(type_code, value) is None) is ok


def test_built_in_datatypes_include_element_ids_and_extensions() -> None:
    names = [e.name for e in complex_type_elements("HumanName") or ()]
    assert names[:2] == ["id", "extension"]
    assert "given" in names
    assert complex_type_elements("NoSuchType") is None
