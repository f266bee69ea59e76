"""The clinic needle stock: the default sizes, the stock check, and the data file's validation."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from needlepoint.visits.needles import (
    DATA_FILE,
    NeedleNotStocked,
    NeedleStockError,
    load_needle_stock,
    needle_stock,
    validate_needle,
)


def test_the_default_stock_matches_the_issue() -> None:
    stock = needle_stock()
    assert [n.length_mm for n in stock.lengths] == [13, 15, 25, 30, 40, 50, 60, 75]
    assert [d.label for d in stock.diameters] == [
        "0.16 mm (36G)",
        "0.18 mm",
        "0.20 mm",
        "0.25 mm (32G)",
        "0.30 mm (30G)",
    ]
    assert stock.authority == "low"


def test_sizes_outside_clinical_md_are_marked_unverified() -> None:
    stock = needle_stock()
    assert {n.length_mm for n in stock.lengths if n.unverified} == {13}
    assert {d.diameter_mm for d in stock.diameters if not d.unverified} == {0.16, 0.25}


@pytest.mark.parametrize(
    ("diameter", "length", "label"),
    [(0.25, 40, "0.25 mm (32G) x 40 mm"), (Decimal("0.160"), Decimal("13"), "0.16 mm (36G) x 13 mm")],
)
def test_a_stocked_needle_is_found(diameter: float, length: float, label: str) -> None:
    assert validate_needle(diameter, length).label == label


@pytest.mark.parametrize(
    ("diameter", "length", "expected"),
    [
        (0.22, 40, "No 0.22 mm diameter needle in stock"),
        (0.25, 45, "No 45 mm long needle in stock (stocked: 13 mm, 15 mm"),
        (0.255, 40, "No 0.255 mm diameter"),
        (True, 40, "diameter needle in stock"),
        ("0.25", 40, "diameter needle in stock"),
    ],
)
def test_a_needle_not_in_stock_is_refused(diameter: object, length: object, expected: str) -> None:
    with pytest.raises(NeedleStockError, match="in stock") as caught:
        validate_needle(diameter, length)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("diameter", "length", "problems"),
    [
        (0.22, 40, [("diameter_not_stocked", "diameter_mm")]),
        (0.25, 45, [("length_not_stocked", "length_mm")]),
        (0.22, 45, [("diameter_not_stocked", "diameter_mm"), ("length_not_stocked", "length_mm")]),
    ],
)
def test_a_needle_not_in_stock_names_its_problem_and_field(diameter, length, problems) -> None:
    with pytest.raises(NeedleNotStocked) as caught:
        validate_needle(diameter, length)
    assert [(p.code, p.field) for p in caught.value.problems] == problems


def test_the_field_of_a_stock_problem_does_not_depend_on_its_words(tmp_path: Path) -> None:
    """Words that would have misled a rule reading them: the length message speaks of a diameter, and the
    diameter message of a long needle. The code and field stay; the clinic's words are what is shown."""
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    raw["messages"] = {
        "diameter_not_stocked": "Not a stocked gauge, however long: {value} (we have {stocked}).",
        "length_not_stocked": "Any diameter, but not {value} mm (we have {stocked}).",
    }
    path = tmp_path / "stock.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(NeedleNotStocked) as caught:
        validate_needle(0.25, 45, load_needle_stock(path))
    [problem] = caught.value.problems
    assert (problem.code, problem.field) == ("length_not_stocked", "length_mm")
    assert problem.message.startswith("Any diameter, but not 45 mm (we have 13 mm, 15 mm")


def test_a_clinic_stock_file_is_used(tmp_path: Path) -> None:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    raw["lengths"] = [{"length_mm": 100, "source": "own order [S29]", "unverified": True, "note": "long"}]
    path = tmp_path / "stock.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    stock = load_needle_stock(path)
    assert validate_needle(0.30, 100, stock).length.length_mm == 100
    with pytest.raises(NeedleStockError):
        validate_needle(0.30, 40, stock)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda raw: raw["lengths"].append(dict(raw["lengths"][4])), "length is listed more than once"),
        (lambda raw: raw["diameters"][0].update(diameter_mm=-0.1), "must be a positive number"),
        (lambda raw: raw["diameters"][0].update(source="a catalogue"), "must cite a key of the project's references"),
        (lambda raw: raw["lengths"][1].update(unverified=True), "true needs a note"),
        (lambda raw: raw.update(lengths=[]), "at least one diameter and one length"),
        (lambda raw: raw["messages"].update(length_not_stocked="Too long."), "length_not_stocked needs words"),
    ],
)
def test_a_malformed_stock_file_is_refused(tmp_path: Path, edit, expected: str) -> None:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "stock.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(NeedleStockError, match="invalid needle stock") as caught:
        load_needle_stock(path)
    assert expected in str(caught.value)


def test_a_stock_file_missing_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stock.json"
    path.write_text(json.dumps({"diameters": []}), encoding="utf-8")
    with pytest.raises(NeedleStockError, match="cannot be read as a needle stock"):
        load_needle_stock(path)
