"""Form text and API answers become item answers; anything that is not a number of the right kind is named."""

from __future__ import annotations

import pytest

from needlepoint.outcomes.answers import (
    AnswerError,
    clean_notes,
    from_list,
    from_text,
    in_item_order,
    read_answer,
    read_total,
)
from needlepoint.outcomes.scoring import instrument, score
from tests.outcomes.conftest import SECTION_SCALE


def test_form_text_becomes_numbers_and_blank_is_unanswered() -> None:
    ppt = instrument("PPT")
    assert from_text(ppt, {"trial_1": "250,5", "trial_2": " 260 ", "trial_3": ""})["trial_1"] == 250.5
    odi = from_text(instrument("ODI"), {"lifting": "3", "walking": ""})
    assert odi["lifting"] == 3 and odi["walking"] is None


def test_every_bad_item_is_reported_at_once() -> None:
    with pytest.raises(AnswerError) as caught:
        from_text(instrument("ODI"), {"lifting": "2.5", "walking": "lots", "sitting": "1"})
    assert set(caught.value.problems) == {"lifting", "walking"}
    assert f"choose one of the answers ({SECTION_SCALE})" in caught.value.problems["lifting"]
    with pytest.raises(AnswerError, match="enter a number"):
        from_text(instrument("PPT"), {"trial_1": "nan"})


def test_answers_keyed_by_unknown_items_are_refused() -> None:
    with pytest.raises(AnswerError, match="has no item lifting_heavy"):
        in_item_order(instrument("ODI"), {"lifting_heavy": 2})
    assert in_item_order(instrument("NPRS"), {"pain": 4}) == [4]


def test_notes_are_trimmed_and_bounded() -> None:
    psfs = instrument("PSFS")
    assert clean_notes(psfs, {"activity_1": "  lifting   my child ", "activity_2": ""}) == {
        "activity_1": "lifting my child"
    }
    with pytest.raises(AnswerError):
        clean_notes(psfs, {"activity_1": "x" * 121})
    with pytest.raises(AnswerError):
        clean_notes(psfs, {"activity_9": "walking"})


def test_an_answer_is_the_printed_value_or_the_printed_label() -> None:
    groc = instrument("GROC").items[0]
    for given in (3, "3", "+3", " Somewhat better ", "SOMEWHAT better"):
        assert read_answer(groc, given) == 3
    assert read_answer(groc, "\u22127") == -7  # a typographic minus, as a word processor prints it
    hit6 = instrument("HIT6").items[0]
    assert [read_answer(hit6, label) for label in ("Never", "Rarely", "Always")] == [6, 8, 13]
    dash = instrument("QUICKDASH").items[10]
    assert read_answer(dash, "So much difficulty that I can't sleep") == 5
    assert read_answer(dash, "") is None and read_answer(dash, None) is None


def test_text_that_is_neither_is_refused_with_the_printed_scale() -> None:
    with pytest.raises(AnswerError) as caught:
        read_answer(instrument("HIT6").items[0], "often")
    assert "(6 = Never, 8 = Rarely, 10 = Sometimes, 11 = Very often, 13 = Always), not “often”" in str(caught.value)
    with pytest.raises(AnswerError, match="enter a whole number \\(from 0 to 10\\)"):
        read_answer(instrument("NPRS").items[0], "severe")


def test_positions_are_refused_wherever_they_differ_from_the_printed_values() -> None:
    # the same list through the API's mapping and the command line's: 0-based positions score nothing
    from needlepoint.outcomes import ScoringError

    for code, positions in (("GROC", [14]), ("HIT6", [0, 1, 2, 3, 4, 4]), ("QUICKDASH", [0] * 11)):
        defn = instrument(code)
        with pytest.raises(ScoringError, match="not on the form's scale"):
            score(code, in_item_order(defn, {item.id: a for item, a in zip(defn.items, positions, strict=False)}))
        with pytest.raises(ScoringError, match="not on the form's scale"):
            score(code, from_list(defn, [str(a) for a in positions]))


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_total_of_a_one_choice_instrument_is_refused_with_its_scale(blank: str) -> None:
    # It used to reach float(None) and fail with a TypeError instead of naming the scale (found by mypy).
    with pytest.raises(AnswerError) as caught:
        read_total(instrument("GROC"), blank)
    assert "not on the form's scale" in str(caught.value)
