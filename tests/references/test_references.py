"""The references file: it loads, every entry follows the rules, and a faulty entry is refused by name."""

from __future__ import annotations

import copy
import json
import re

import pytest

from needlepoint.references import (
    REFERENCES_FILE,
    ReferenceError,
    bracketed_citations,
    cited_keys,
    is_key_list,
    keys_in_list,
    parse_references,
    references,
    sort_key,
)


def raw_document() -> dict:
    return json.loads(REFERENCES_FILE.read_text(encoding="utf-8"))


def test_the_project_references_load_with_every_clinical_reference_key() -> None:
    refs = references()

    # The clinical reference numbers S1-S121; S26 exists only as its two parts S26a and S26b.
    assert {f"S{n}" for n in range(1, 122) if n != 26} <= set(refs)
    assert {"S5b", "S26a", "S26b", "S100b"} <= set(refs)
    assert {f"T{n}" for n in range(1, 22)} <= set(refs)
    assert {f"EXT{n}" for n in range(1, 11)} <= set(refs)


def test_a_known_article_carries_its_full_reference() -> None:
    brady = references()["S1"]

    assert brady.authors == "Brady S, McEvoy J, Dommerholt J, Doody C"
    assert brady.publisher == "J Man Manip Ther" and brady.year == 2014
    assert brady.doi == "10.1179/2042618613Y.0000000044" and brady.doi_url.startswith("https://doi.org/10.")
    assert brady.secondary and "article named" in brady.reports


def test_the_delayed_pneumothorax_case_reports_are_primary_sources() -> None:
    mintken = references()["S130"]

    assert mintken.doi == "10.1093/ptj/pzaf078" and not mintken.secondary
    assert "2 days" in mintken.description
    assert not references()["S133"].authors and "authors" in references()["S133"].unknown


def test_unknown_fields_are_empty_and_listed_never_guessed() -> None:
    for ref in references().values():
        for name in ("authors", "title", "publisher", "year", "doi", "url"):
            assert (getattr(ref, name) in ("", None)) == (name in ref.unknown), (ref.key, name)


def test_a_group_key_lists_parts_that_exist() -> None:
    group = references()["T1"]

    assert group.parts[0] == "T1a" and all(part in references() for part in group.parts)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["S1"].update(doi=""), "S1: doi is empty but not marked unknown"),
        (lambda r: r["S3"].update(title="A title", unknown=["title", "doi"]), "S3: title is given but marked unknown"),
        (lambda r: r["S1"].update(doi="doi:10.1179/x"), "S1: a DOI starts with 10."),
        (lambda r: r["S1"].update(year=14), "S1: year is a four-digit year"),
        (lambda r: r["S1"].update(url="www.example.org"), "is not a web address"),
        (lambda r: r["S1"].update(secondary="yes"), "S1: 'secondary' is true or false"),
        (lambda r: r["S1"].pop("reports"), "S1: a secondary page says which primary work it reports"),
        (lambda r: r["S1"].update(volume="22"), "S1: unknown field(s) volume"),
        (lambda r: r.update({"X1": r["S1"]}), "X1: a key is S, T or EXT"),
        (lambda r: r["T1"].update(parts=["T1a", "T1z"]), "T1: part(s) T1z have no entry"),
    ],
)
def test_a_faulty_entry_is_refused_by_key_and_rule(change, message: str) -> None:
    document = copy.deepcopy(raw_document())
    change(document["references"])

    with pytest.raises(ReferenceError, match=re.escape(message)):
        parse_references(document)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ReferenceError, match="non-empty 'references'"):
        parse_references({"references": {}})


def test_citations_are_read_from_brackets_and_source_fields_only() -> None:
    prose = "Pleura follows the transverse processes C7 to T12 [S22]; avoid both sides [S14, S20]; S1 level."

    assert list(bracketed_citations(prose)) == [("[S22]", ["S22"]), ("[S14, S20]", ["S14", "S20"])]
    assert cited_keys([prose]) == {"S22", "S14", "S20"}
    assert cited_keys([], source_fields=["S64 Kamper SJ et al. 2009; S39 Young"]) == {"S64", "S39"}
    assert is_key_list("S1, S2") and not is_key_list("S1 level")
    assert keys_in_list("S49–S53, S49") == ["S49", "S53"]


def test_keys_sort_as_the_page_lists_them() -> None:
    assert sorted(["T1a", "S100b", "EXT2", "S9", "S100", "T1"], key=sort_key) == [
        "S9",
        "S100",
        "S100b",
        "T1",
        "T1a",
        "EXT2",
    ]
