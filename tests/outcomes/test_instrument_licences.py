"""Every instrument's data file records its licence terms per language (English and Spanish) with a source; a
translation ships only where the terms allow it and a validation paper is cited; and no topic label or other
placeholder can stand in for missing wording in a patient's language."""

from __future__ import annotations

import json

import pytest

from needlepoint.outcomes.scoring import INSTRUMENTS_DIR, instrument
from needlepoint.outcomes.wording import WordingError, has_wording, item_text, language_terms, wording_shipped
from needlepoint.references import keys_in_list

FILES = sorted(INSTRUMENTS_DIR.glob("*.json"))
REFERENCES = json.loads((INSTRUMENTS_DIR.parents[1] / "references.json").read_text(encoding="utf-8"))["references"]


def test_every_instrument_file_is_walked() -> None:
    assert len(FILES) >= 12


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_licence_is_recorded_per_language_with_its_source(path) -> None:
    licence = json.loads(path.read_text(encoding="utf-8"))["licence"]
    assert licence["holder"] and "wording_shipped" in licence
    for language in ("en", "es"):
        terms = licence["languages"][language]
        assert terms["wording"] in ("shipped", "clinic", "none"), (path.stem, language)
        assert terms["may_ship"] in (True, False, "unverified"), (path.stem, language)
        assert terms["source"].strip(), (path.stem, language)
        for key in keys_in_list(terms["source"]) + keys_in_list(str(terms.get("validated_version", ""))):
            assert key in REFERENCES, (path.stem, key)
    english = licence["languages"]["en"]
    # English agrees with the flag the forms read: shipped here means shipped there.
    assert (english["wording"] == "shipped") == bool(licence["wording_shipped"])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_spanish_ships_only_where_the_terms_allow_it_and_a_validated_version_is_cited(path) -> None:
    code = json.loads(path.read_text(encoding="utf-8"))["code"]
    terms = language_terms(code, "es")
    if terms["wording"] != "shipped":
        assert "text" not in terms and not has_wording(code, "es")
        return
    assert terms["may_ship"] is True
    assert terms["validated_version"] in REFERENCES
    defn = instrument(code)
    for item in defn.items:
        given = terms["text"]["items"][item.id]
        assert given["wording"].strip()
        if item.options:
            assert len(given["options"]) == len(item.options)
    assert has_wording(code, "es")


def test_spanish_wording_ships_for_the_public_domain_pain_scale_only() -> None:
    shipped = [p.stem.upper() for p in FILES if has_wording(instrument(p.stem).code, "es")]
    assert shipped == ["NPRS"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_no_placeholder_can_stand_in_for_missing_spanish_wording(path) -> None:
    defn = instrument(json.loads(path.read_text(encoding="utf-8"))["code"])
    for item in defn.items:
        if has_wording(defn.code, "es"):
            shown = item_text(defn, item, language="es")
            assert not shown.is_topic_label and shown.text != item.label
        else:
            with pytest.raises(WordingError):
                item_text(defn, item, language="es")


def test_english_wording_state_is_unchanged() -> None:
    assert [c for c in ("NPRS", "GROC", "PSFS", "LEFS", "PPT") if not wording_shipped(c)] == []
    assert not any(has_wording(c, "en") for c in ("NDI", "ODI", "RMDQ", "QUICKDASH", "PRTEE", "HIT6", "MIDAS"))
    assert has_wording("NDI", "en", entered=True)
