"""Instrument data files: content rules, and the loader's refusal of malformed files with a clear message."""

import json

import pytest

from needlepoint.outcomes import scoring
from needlepoint.outcomes.scoring import InstrumentDataError, instrument, instruments

EXPECTED = {"NPRS", "NDI", "ODI", "RMDQ", "HIT6", "MIDAS", "PRTEE", "QUICKDASH", "LEFS", "PSFS", "GROC", "PPT"}


def test_every_instrument_in_the_issue_is_shipped():
    assert set(instruments()) == EXPECTED


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_every_instrument_states_its_rules_and_sources(code):
    defn = instrument(code)
    assert defn.sources
    for rule in (defn.scoring, defn.missing, defn.rounding):
        assert rule["description"].strip() and rule["source"].strip()
    if defn.mcid is None:
        assert defn.rates_change or any("MCID" in note for note in defn.unverified)
    for threshold in (defn.mcid, defn.mdc, *defn.mcid_alternatives):
        assert threshold is None or threshold.source.strip()


def test_licensed_wording_is_not_shipped():
    for code in ("HIT6", "NDI", "ODI", "PRTEE", "QUICKDASH"):
        defn = instrument(code)
        assert defn.licence["wording_shipped"] is False
        assert all(item.wording is None for item in defn.items)
    assert "licensed wording to be entered by the clinic" in instrument("HIT6").licence["note"]


def test_verify_markers_from_clinical_md_are_carried():
    assert any("6/8/10/11/13" in note and "verify" in note for note in instrument("HIT6").unverified)
    assert any("verify" in note for note in instrument("PRTEE").unverified)
    assert any("MCID" in note and "unverified" in note for note in instrument("MIDAS").unverified)


def test_known_loinc_and_published_options():
    assert instrument("NPRS").loinc == "72514-3"
    assert instrument("ODI").loinc == "97909-6"  # loinc.org/97909-6, panel 97908-8
    # No LOINC code verified on LOINC's own pages for the others: they keep their local code only.
    assert [d for d in ("NDI", "HIT6", "PRTEE", "QUICKDASH", "LEFS", "RMDQ") if instrument(d).loinc] == []
    hit6_points = [float(o.points) for o in instrument("HIT6").items[0].options]
    assert hit6_points == [6, 8, 10, 11, 13]
    assert instrument("HIT6").items[0].options[0].label == "Never"


@pytest.fixture
def instrument_dir(tmp_path, monkeypatch):
    """Point the loader at a scratch folder holding one (possibly broken) copy of the NDI file, and the PSFS that
    the NDI's file offers in its place."""
    original = json.loads((scoring.INSTRUMENTS_DIR / "ndi.json").read_text(encoding="utf-8"))
    (tmp_path / "psfs.json").write_text((scoring.INSTRUMENTS_DIR / "psfs.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(scoring, "INSTRUMENTS_DIR", tmp_path)

    def write(mutate, name="ndi.json"):
        data = json.loads(json.dumps(original))
        mutate(data)
        (tmp_path / name).write_text(json.dumps(data), encoding="utf-8")
        scoring.instruments.cache_clear()

    yield write
    scoring.instruments.cache_clear()


def test_loader_accepts_the_unchanged_file(instrument_dir):
    instrument_dir(lambda d: None)
    assert list(instruments()) == ["NDI", "PSFS"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("direction"), "ndi.json: missing required field 'direction'"),
        (lambda d: d.update(direction="up"), "'direction' must be one of"),
        (lambda d: d["option_sets"]["statements_0_5"][2].update(points="two"), "option 2: expected a finite number"),
        (lambda d: d["items"][3].update(options="nope"), "item 4 \\('reading'\\): unknown option set 'nope'"),
        (lambda d: d["option_sets"]["statements_0_5"][2].update(printed=1), "printed values must differ"),
        (lambda d: d["option_sets"]["statements_0_5"][2].pop("printed"), "option 2 printed: expected a finite number"),
        (lambda d: d["range"].update(max=50), "declared range .* does not match"),
        (lambda d: d["items"].append(dict(d["items"][0])), "item ids must be unique"),
        (lambda d: d["mdc"].update(source=""), "mdc: 'source' must not be empty"),
        (lambda d: d["mcid"].update(value=8), "the MCID \\(8\\) lies below the MDC \\(10\\)"),
        (lambda d: d["mcid"].update(unit="kg"), "mcid: 'unit' must be one of"),
        (lambda d: d["scoring"].update(rule="magic"), "'scoring' rule must be one of"),
        (lambda d: d["missing"].pop("value"), "missing: missing required field 'value'"),
        (lambda d: d.update(answer_counts=[0]), "'answer_counts' must list whole numbers"),
        # A licensed instrument names the alternatives examined in its place, each sourced.
        (lambda d: d.pop("alternatives"), "wording is licensed needs an 'alternatives' block"),
        (lambda d: d["alternatives"].update(examined=[]), "'examined' must list at least one alternative"),
        (lambda d: d["alternatives"].update(equivalent_found="no"), "'equivalent_found' must be true or false"),
        (lambda d: d["alternatives"].update(summary=" "), "alternatives: 'summary' must be a non-empty text"),
        (lambda d: d["alternatives"]["examined"][1].update(verdict="maybe"), "alternatives 2: 'verdict' must be"),
        (lambda d: d["alternatives"]["examined"][1].update(measures=""), "'measures' must be a non-empty text"),
        (lambda d: d["alternatives"]["examined"][1].update(source=""), "'source' must be a non-empty text"),
        (lambda d: d["alternatives"]["examined"][1].update(source="a journal"), "must cite a reference key"),
        (lambda d: d["alternatives"]["examined"][1].update(source="S99999"), "cites \\['S99999'\\]"),
        (lambda d: d["alternatives"]["examined"][1].update(offers="PSFS"), "only an offered alternative has"),
        (lambda d: d["alternatives"]["examined"][0].pop("offers"), "names what it offers in 'offers'"),
        (lambda d: d["alternatives"]["examined"][0].pop("validation_source"), "'validation_source' must be"),
        (lambda d: d["alternatives"]["examined"][0].update(offers="XYZ"), "offers 'XYZ', not a known instrument"),
        (lambda d: d["alternatives"]["examined"][0].update(offers="NDI"), "offers NDI, which does not ship wording"),
        (lambda d: d["alternatives"]["examined"][0].update(colour="red"), "unknown field\\(s\\) \\['colour'\\]"),
        (lambda d: d["licence"].update(wording_shipped=True), "'alternatives' belongs to instruments whose wording"),
        # What was read second-hand is marked unverified, in every sourced text and the summary (S455 and S63 are
        # secondary pages; S456 is the article).
        (
            lambda d: d["alternatives"]["examined"][0].update(validation_source="S455"),
            r"ndi\.json alternatives 1: 'validation_source' cites \['S455'\], a secondary source, without saying",
        ),
        (
            lambda d: d["alternatives"]["examined"][0].update(source="S63 (the form as circulated)"),
            r"ndi\.json alternatives 1: 'source' cites \['S63'\], a secondary source",
        ),
        (
            lambda d: d["alternatives"]["examined"][0].update(validated_in="neck dysfunction [S455]"),
            r"ndi\.json alternatives 1: 'validated_in' cites \['S455'\], a secondary source",
        ),
        (
            lambda d: d["alternatives"].update(summary="The PSFS is validated in neck dysfunction [S455]."),
            r"ndi\.json alternatives: 'summary' cites \['S455'\], a secondary source",
        ),
        (
            lambda d: d["alternatives"].update(summary="The PSFS is validated [S99999]."),
            r"ndi\.json alternatives: 'summary' cites \['S99999'\], which needlepoint/references\.json",
        ),
    ],
)
def test_loader_names_the_broken_entry(instrument_dir, mutate, message):
    instrument_dir(mutate)
    with pytest.raises(InstrumentDataError, match=message):
        instruments()


def test_a_primary_source_needs_no_unverified_mark(instrument_dir):
    instrument_dir(lambda d: d["alternatives"]["examined"][0].update(validation_source="S456"))
    assert instruments()["NDI"].alternatives.offered[0].validation_source == "S456"


def test_loader_requires_file_name_to_match_code(instrument_dir):
    instrument_dir(lambda d: None, name="neck.json")
    with pytest.raises(InstrumentDataError, match=r"neck\.json: file name must be the lower-case code"):
        instruments()


def test_loader_reports_invalid_json(instrument_dir, tmp_path):
    instrument_dir(lambda d: None)
    (tmp_path / "ndi.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InstrumentDataError, match=r"ndi\.json: not valid JSON"):
        instruments()


def test_an_mcid_below_its_mdc_is_flagged_and_explained():
    quickdash = instrument("QUICKDASH")
    assert (quickdash.mcid.value, quickdash.mdc.value) == (14, 17.1)  # Sorensen 2013 MCID; van Kampen 2013 SDC
    assert quickdash.below_mdc(quickdash.mcid) and "measurement error" in quickdash.mcid.below_mdc
    assert quickdash.responder_points == 17.1
    flagged = [code for code, d in instruments().items() if d.below_mdc(d.mcid)]
    assert flagged == ["QUICKDASH"]
    assert all(instruments()[code].mcid.below_mdc for code in flagged)


def test_measurement_properties_come_from_primary_sources():
    prtee = instrument("PRTEE")
    assert (prtee.mcid.value, prtee.mdc.value) == (14.8, 9.7) and prtee.mcid.source.startswith("S58")
    assert not any(s.startswith("S57") for s in prtee.sources)  # the generated summary page is not used
    assert not prtee.mcid_alternatives
    nprs = instrument("NPRS")
    assert nprs.mdc.value == 2 and nprs.mdc.source.startswith("S201 Childs")
    ndi = instrument("NDI")
    assert (ndi.missing["rule"], ndi.missing["value"]) == ("max_missing", 2) and "S207" in ndi.missing["source"]
    assert instrument("ODI").missing["value"] == 1
