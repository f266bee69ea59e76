"""Answers to a questionnaire as the record keeps them: a mapping of item id to answer.

A form posts text; an API client posts numbers. Both come here to become the item-order list that
``scoring.score`` reads, with a message per item for anything that is not a number of the right kind.
Range, option and missing-item rules stay in ``scoring``, which knows each instrument's published rules.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from needlepoint.inputs import whole_number
from needlepoint.outcomes.scoring import Instrument, Item

MAX_NOTE_LENGTH = 120


class AnswerError(ValueError):
    """Some answers are not usable; ``problems`` maps an item id (or '' for the whole set) to a message."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in problems.items()))
        self.problems = dict(problems)


def parse_text(item: Item, raw: str | None) -> int | float | None:
    """One form value: blank is unanswered; choice and 0-N items take whole numbers, measurements decimals."""
    text = (raw or "").strip()
    if not text:
        return None
    if item.kind == "measurement":
        try:
            value = float(text.replace(",", "."))
        except ValueError as exc:
            raise AnswerError({item.id: f"{item.label}: enter a number, not “{text[:20]}”."}) from exc
        if not math.isfinite(value):
            raise AnswerError({item.id: f"{item.label}: enter a number."})
        return value
    number = whole_number(text)
    if number is None:
        what = "choose one of the answers" if item.kind == "choice" else "enter a whole number"
        raise AnswerError({item.id: f"{item.label}: {what}."})
    return number


def from_text(defn: Instrument, raw: Mapping[str, str | None]) -> dict[str, int | float | None]:
    """Form values keyed by item id to answers keyed by item id; every problem reported at once."""
    answers: dict[str, int | float | None] = {}
    problems: dict[str, str] = {}
    for item in defn.items:
        try:
            answers[item.id] = parse_text(item, raw.get(item.id))
        except AnswerError as exc:
            problems.update(exc.problems)
    if problems:
        raise AnswerError(problems)
    return answers


def in_item_order(defn: Instrument, answers: Mapping[str, Any]) -> list[Any]:
    """The answers as the full item-order list that scoring reads; unknown item ids are refused."""
    if not isinstance(answers, Mapping):
        raise AnswerError({"": "Answers must map each item id to its answer."})
    known = {item.id for item in defn.items}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise AnswerError({"": f"{defn.code} has no item {', '.join(unknown)}; its items are {', '.join(known)}."})
    return [answers.get(item.id) for item in defn.items]


def clean_notes(defn: Instrument, notes: Mapping[str, Any] | None) -> dict[str, str]:
    """Free-text notes per item (the activity a PSFS line rates), trimmed; unknown items refused."""
    if not notes:
        return {}
    known = {item.id for item in defn.items}
    cleaned: dict[str, str] = {}
    for key, value in notes.items():
        if key not in known:
            raise AnswerError({"": f"{defn.code} has no item {key} to attach a note to."})
        text = " ".join(str(value or "").split())
        if len(text) > MAX_NOTE_LENGTH:
            raise AnswerError({key: f"Keep the note under {MAX_NOTE_LENGTH} characters."})
        if text:
            cleaned[key] = text
    return cleaned
