"""Every ICD-10-CM code in patients/data/conditions.json against the CMS tabular list bundled by simple-icd-10-cm.

A code must exist, be billable (a leaf: no code below it) and carry the official tabular description word for word;
its recorded side must agree with the description. Runs in CI, so a code that CMS deletes or splits in a later
release fails here when the package is updated.
"""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
import simple_icd_10_cm as cms

from needlepoint.patients.conditions import DATA_FILE, conditions, release_checked
from needlepoint.references import references

RAW = json.loads(DATA_FILE.read_text(encoding="utf-8"))
ENTRIES = [
    (condition["code"], item)
    for condition in RAW["conditions"]
    for item in [*condition["icd10"], *condition.get("retired_icd10", [])]
]


def test_the_release_checked_is_the_one_the_package_bundles() -> None:
    bundled = {resource.name for resource in files("simple_icd_10_cm.data").iterdir()}

    assert release_checked()["file"] in bundled


@pytest.mark.parametrize(("condition", "item"), ENTRIES, ids=[f"{c}-{i['code']}" for c, i in ENTRIES])
def test_each_code_exists_is_billable_and_has_its_official_description(condition: str, item: dict) -> None:
    code = item["code"]

    assert cms.is_valid_item(code), f"{code} ({condition}) is not in the CMS tabular list"
    assert cms.is_leaf(code), f"{code} ({condition}) is a heading, not a billable code"
    assert item["label"] == cms.get_description(code)
    assert item["verified"] is True
    # The CMS tabular list of the release checked, in the project's references.
    assert item["source"] == "S220" and "Tabular List" in references()["S220"].title


@pytest.mark.parametrize(("condition", "item"), ENTRIES, ids=[f"{c}-{i['code']}" for c, i in ENTRIES])
def test_each_codes_side_agrees_with_its_description(condition: str, item: dict) -> None:
    words = cms.get_description(item["code"]).lower().replace(",", " ").split()

    if item["side"] in ("right", "left", "unspecified"):
        assert item["side"] in words
    else:
        assert "right" not in words and "left" not in words


def test_every_sided_code_has_its_other_side_and_its_unspecified_side_in_the_tabular_list() -> None:
    for condition in conditions().values():
        for code in condition.icd10:
            if code.side in ("right", "left"):
                siblings = {cms.get_description(c).lower() for c in cms.get_children(cms.get_parent(code.code))}
                assert any("right" in s for s in siblings) and any("left" in s for s in siblings)


def test_tendinopathies_are_coded_in_m65_to_m77_and_segmental_dysfunction_in_m99_0() -> None:
    tendinopathy = conditions()["tendinopathy"].icd10
    dysfunction = conditions()["joint_spine_dysfunction"].icd10

    assert all("M65" <= c.code[:3] <= "M77" for c in tendinopathy)
    assert [c.code for c in dysfunction] == [f"M99.0{n}" for n in range(10)]
    assert not any(c.code.startswith("M79.1") for c in (*tendinopathy, *dysfunction))
