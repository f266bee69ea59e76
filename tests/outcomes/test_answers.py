"""Form text and API answers become item answers; anything that is not a number of the right kind is named."""

from __future__ import annotations

import pytest

from needlepoint.outcomes.answers import AnswerError, clean_notes, from_text, in_item_order
from needlepoint.outcomes.scoring import instrument


def test_form_text_becomes_numbers_and_blank_is_unanswered() -> None:
    ppt = instrument("PPT")
    assert from_text(ppt, {"trial_1": "250,5", "trial_2": " 260 ", "trial_3": ""})["trial_1"] == 250.5
    odi = from_text(instrument("ODI"), {"lifting": "3", "walking": ""})
    assert odi["lifting"] == 3 and odi["walking"] is None


def test_every_bad_item_is_reported_at_once() -> None:
    with pytest.raises(AnswerError) as caught:
        from_text(instrument("ODI"), {"lifting": "2.5", "walking": "lots", "sitting": "1"})
    assert set(caught.value.problems) == {"lifting", "walking"}
    assert "choose one of the answers" in caught.value.problems["lifting"]
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
