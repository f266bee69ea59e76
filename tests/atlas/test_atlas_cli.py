"""`needlepoint atlas regions|muscles` and `needlepoint suggest`, called through the real entry point."""

from __future__ import annotations

import json

import pytest

from needlepoint.atlas.catalogue import body_map, muscles
from needlepoint.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_atlas_regions_json_lists_code_name_view_and_side(capsys) -> None:
    code, out, _ = run(capsys, "atlas", "regions", "--json")
    rows = json.loads(out)
    assert code == 0
    assert len(rows) == len(body_map().regions)
    assert rows[2] == {"code": "temple-r", "name": "Temple (right)", "view": "front", "side": "right"}


def test_atlas_regions_text_names_the_choir_source(capsys) -> None:
    code, out, _ = run(capsys, "atlas", "regions", "--view", "back")
    assert code == 0
    assert "posterolateral-neck-r" in out and "temple-r" not in out
    assert "CHOIR" in out


def test_atlas_muscles_json(capsys) -> None:
    code, out, _ = run(capsys, "atlas", "muscles", "--json")
    rows = json.loads(out)
    assert code == 0
    assert [r["id"] for r in rows] == list(muscles())
    trapezius = rows[0]
    assert trapezius["name"] == "Upper trapezius" and trapezius["hazard_kinds"] == ["pneumothorax"]
    assert trapezius["trigger_points"] == ["TP1"]


def test_atlas_muscles_for_one_condition(capsys) -> None:
    _, out, _ = run(capsys, "atlas", "muscles", "--condition", "sciatica", "--json")
    ids = [r["id"] for r in json.loads(out)]
    assert "piriformis" in ids and "temporalis" not in ids


def test_suggest_takes_codes_and_names_and_prints_scores_and_reasons(capsys) -> None:
    code, out, _ = run(capsys, "suggest", "temple-r=6", "Posterolateral neck (right)", "--condition", "neck_pain")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Drawing: Temple (right) 6/10, Posterolateral neck (right)  (condition: neck_pain)"
    assert lines[1].startswith(" 1. Upper trapezius (right)  score 0.")
    assert "hazard: pneumothorax" in lines[1]
    assert lines[2].strip() == "Temple and posterolateral neck are in its primary zone."


def test_suggest_json(capsys) -> None:
    code, out, _ = run(capsys, "suggest", "temple-r", "posterolateral-neck-r", "--json", "--limit", "3")
    body = json.loads(out)
    assert code == 0
    assert body["drawing"] == {"temple-r": None, "posterolateral-neck-r": None}
    assert len(body["matches"]) == 3
    first = body["matches"][0]
    assert first["muscle_id"] == "upper-trapezius" and first["score"] > body["matches"][1]["score"]
    assert "primary zone" in first["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["temple"], "Unknown body region 'temple'. Did you mean: temple-r (Temple (right)); temple-l"),
        (["temple-r=11"], "must be from 0 to 10"),
        (["temple-r=high"], "must be a whole number from 0 to 10"),
        (["temple-r", "--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_suggest_refuses_bad_regions_with_a_clear_message(capsys, args, message) -> None:
    code, out, err = run(capsys, "suggest", *args)
    assert code == 2
    assert out == ""
    assert message in err


def test_suggest_an_unknown_condition_is_an_argparse_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["suggest", "temple-r", "--condition", "flu"])
    assert exit_.value.code == 2
    assert "invalid choice: 'flu'" in capsys.readouterr().err


def test_suggest_says_when_nothing_explains_the_drawing(capsys) -> None:
    code, out, _ = run(capsys, "suggest", "temple-r=0")
    assert code == 0
    assert "No muscle of the atlas refers pain to these regions." in out
