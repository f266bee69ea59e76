"""Adverse-event types and severities: the catalogue, the recording check, and the data file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from needlepoint.visits.adverse_events import (
    DATA_FILE,
    AdverseEventDataError,
    AdverseEventError,
    adverse_event_types,
    load_catalogue,
    severities,
    validate_adverse_event,
)


def test_the_issue_types_are_all_there() -> None:
    expected = {
        "bruising", "bleeding", "pain_during", "pain_after_24h", "symptom_aggravation", "drowsiness",
        "headache", "nausea", "vasovagal", "suspected_pneumothorax", "nerve_irritation", "infection",
        "broken_needle", "needle_left_in", "other",
    }  # fmt: skip
    assert {t.code for t in adverse_event_types()} == expected


def test_severities_follow_white_et_al_mildest_first() -> None:
    grades = severities()
    assert [s.code for s in grades] == ["mild", "significant", "serious"]
    assert [s.rank for s in grades] == [0, 1, 2]
    assert [s.fhir_severity for s in grades] == ["mild", "moderate", "severe"]
    assert [s.serious for s in grades] == [False, False, True]
    assert "medical intervention" in grades[1].definition
    assert "hospital admission" in grades[2].definition.lower()
    assert all("[S5]" in s.source for s in grades)


def test_every_type_cites_a_reference_and_explains_what_is_unverified() -> None:
    for kind in adverse_event_types():
        assert re.search(r"\[(S|T)\d+", kind.source)
        assert not kind.unverified or kind.note


@pytest.mark.parametrize(("severity", "allowed"), [("mild", False), ("significant", True), ("serious", True)])
def test_a_suspected_pneumothorax_is_at_least_significant(severity: str, allowed: bool) -> None:
    if allowed:
        assert validate_adverse_event("suspected_pneumothorax", severity).code == "suspected_pneumothorax"
    else:
        with pytest.raises(AdverseEventError, match="at least significant, not mild"):
            validate_adverse_event("suspected_pneumothorax", severity)


def test_bruising_may_be_mild() -> None:
    assert validate_adverse_event("bruising", "mild").label == "Bruising"


def test_other_needs_a_description() -> None:
    with pytest.raises(AdverseEventError, match="needs a description"):
        validate_adverse_event("other", "mild", "   ")
    assert validate_adverse_event("other", "mild", "Itching at the needle site").code == "other"


def test_unknown_type_and_severity_are_both_reported() -> None:
    with pytest.raises(AdverseEventError) as caught:
        validate_adverse_event("sneezing", "catastrophic")
    assert caught.value.problems == (
        "Unknown adverse-event type 'sneezing'.",
        "Unknown severity 'catastrophic'; use one of mild, significant, serious.",
    )


# --- the data file --------------------------------------------------------------------------------


def write_catalogue(tmp_path: Path, edit) -> Path:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "adverse_events.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda raw: raw["types"].append(dict(raw["types"][0])), "type code used more than once: bruising"),
        (lambda raw: raw["types"][0].update(min_severity="fatal"), "unknown min_severity 'fatal'"),
        (lambda raw: raw["types"][0].update(unverified=True), "true needs a note"),
        (lambda raw: raw["types"][0].update(source="a forum"), "the source must cite the project's references"),
        (lambda raw: raw["severities"][0].update(fhir_severity="tiny"), "fhir_severity must be one of"),
        (lambda raw: raw["severities"][2].update(source="memory"), "severity serious: the source must cite"),
    ],
)
def test_a_malformed_catalogue_is_refused(tmp_path: Path, edit, expected: str) -> None:
    with pytest.raises(AdverseEventDataError, match="invalid adverse-event data") as caught:
        load_catalogue(write_catalogue(tmp_path, edit))
    assert expected in str(caught.value)


def test_a_catalogue_missing_a_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AdverseEventDataError, match="cannot be read as adverse-event data"):
        load_catalogue(write_catalogue(tmp_path, lambda raw: raw["types"][0].pop("label")))
