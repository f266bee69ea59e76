"""The grammar helper used by every generated text: counted nouns and sentences without doubled punctuation."""

from __future__ import annotations

import pytest

from needlepoint.grammar import clause, join_sentences, join_words, plural, sentence


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "0 visits"), (1, "1 visit"), (2, "2 visits"), (-1, "-1 visit"), (21, "21 visits")]
)
def test_a_count_takes_the_right_number(count: int, expected: str) -> None:
    assert plural(count, "visit") == expected


def test_an_irregular_plural_is_given() -> None:
    assert plural(1, "injury", "injuries") == "1 injury"
    assert plural(3, "injury", "injuries") == "3 injuries"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ache eased", "Ache eased."),
        ("Ache eased.", "Ache eased."),
        ("Depth of this margin (unverified).", "Depth of this margin (unverified)."),
        ("Depth of this margin (unverified)..", "Depth of this margin (unverified)."),
        ("Searched the couch .", "Searched the couch."),
        ("  Two\n lines  ", "Two lines."),
        ("Is it worse?", "Is it worse?"),
        ("", ""),
    ],
)
def test_a_sentence_ends_in_one_full_stop(text: str, expected: str) -> None:
    assert sentence(text) == expected


def test_a_clause_loses_its_full_stop_before_a_colon() -> None:
    assert f"{clause('Deep layer.')}:" == "Deep layer:"
    assert clause("Wait...") == "Wait..."
    assert clause("  Superficial  ") == "Superficial"


def test_sentences_join_with_one_space_and_skip_empty_parts() -> None:
    assert join_sentences(["Lay flat", "", "Observed 20 min."]) == "Lay flat. Observed 20 min."


@pytest.mark.parametrize(
    ("items", "expected"), [([], ""), (["a"], "a"), (["a", "b"], "a and b"), (["a", "b", " ", "c"], "a, b and c")]
)
def test_items_join_as_prose(items: list[str], expected: str) -> None:
    assert join_words(items) == expected
