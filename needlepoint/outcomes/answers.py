"""Answers to a questionnaire as the record keeps them: a mapping of item id to answer, as the form prints it.

This is the one way an answer is read, whoever gives it: the web forms and the patient's phone page post text,
an API client posts numbers or labels, ``needlepoint score`` and the CSV import read text. Each answer is the
value printed on the form beside the chosen option (GROC −7 … +7, QuickDASH 1-5, HIT-6 6/8/10/11/13, NDI/ODI
0-5), the number of a 0-N rating, a measurement, or the option's label as shipped; anything else is refused with
the item's printed scale. An option's position in its list is never an answer. Range, option and missing-item
rules stay in ``scoring``, which knows each instrument's published rules.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from needlepoint.inputs import whole_number
from needlepoint.outcomes.scoring import Instrument, Item, possible_totals, printed_scale, whole_totals

MAX_NOTE_LENGTH = 120


class AnswerError(ValueError):
    """Some answers are not usable; ``problems`` maps an item id (or '' for the whole set) to a message."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in problems.items()))
        self.problems = dict(problems)


def read_answer(item: Item, raw: Any) -> int | float | None:
    """One answer as the form prints it; None or blank text is unanswered.

    Numbers pass through for ``scoring`` to check against the scale. Text is read as a printed number ("+3",
    "−3", "11"; a decimal comma for measurements) or, for a choice item, as an option's label (case and spacing
    ignored); other text raises AnswerError naming the item and showing its printed scale.
    """
    if raw is None or not isinstance(raw, str):
        return raw
    text = " ".join(raw.replace("\u2212", "-").split())
    if not text:
        return None
    if item.kind == "measurement":
        return _measurement(item, text)
    number = whole_number(text[1:] if text.startswith("+") and text[1:2].isdigit() else text)
    if number is not None:
        return number
    if item.kind == "choice":
        wanted = text.casefold()
        for option in item.options:
            if option.label.casefold() == wanted:
                return int(option.printed)
    what = "choose one of the answers" if item.kind == "choice" else "enter a whole number"
    raise AnswerError({item.id: f"{item.label}: {what} ({printed_scale(item)}), not “{text[:20]}”."})


def _measurement(item: Item, text: str) -> float:
    try:
        value = float(text.replace(",", "."))
    except ValueError as exc:
        raise AnswerError({item.id: f"{item.label}: enter a number, not “{text[:20]}”."}) from exc
    if not math.isfinite(value):
        raise AnswerError({item.id: f"{item.label}: enter a number."})
    return value


def from_text(defn: Instrument, raw: Mapping[str, str | None]) -> dict[str, int | float | None]:
    """Form values keyed by item id to answers keyed by item id; every problem reported at once."""
    read = _read_all(defn.items, [raw.get(item.id) or "" for item in defn.items])
    return {item.id: value for item, value in zip(defn.items, read, strict=True)}


def in_item_order(defn: Instrument, answers: Mapping[str, Any]) -> list[Any]:
    """The answers as the full item-order list that scoring reads; unknown item ids are refused."""
    if not isinstance(answers, Mapping):
        raise AnswerError({"": "Answers must map each item id to its answer."})
    known = {item.id for item in defn.items}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise AnswerError({"": f"{defn.code} has no item {', '.join(unknown)}; its items are {', '.join(known)}."})
    return _read_all(defn.items, [answers.get(item.id) for item in defn.items])


def from_list(defn: Instrument, given: Sequence[Any]) -> list[Any]:
    """Answers given in item order (the command line's), read one by one; ``scoring`` checks how many."""
    if len(given) > len(defn.items):
        items = f"{len(defn.items)} item" + ("s" if len(defn.items) > 1 else "")
        raise AnswerError({"": f"{defn.code} has {items}; {len(given)} answers were given."})
    return _read_all(defn.items[: len(given)], list(given))


def _read_all(items: Sequence[Item], given: list[Any]) -> list[Any]:
    read: list[Any] = []
    problems: dict[str, str] = {}
    for item, raw in zip(items, given, strict=True):
        try:
            read.append(read_answer(item, raw))
        except AnswerError as exc:
            problems.update(exc.problems)
    if problems:
        raise AnswerError(problems)
    return read


def read_total(defn: Instrument, text: str, mean_of: int = 1) -> float:
    """A score as an outcome file gives it (the CSV import); AnswerError with the printed scale otherwise.

    For a one-rating instrument (NPRS, GROC) the value is the answer as the form prints it, or the option's
    label; for the others it is the total on the instrument's scale, and a total the form cannot give (a HIT-6
    of 37, an NPRS of 2.5) is refused. ``mean_of`` n > 1 declares each value the mean of n ratings of a
    one-rating instrument (a trial's average pain over four ratings is 2.25), so it must be a multiple of 1/n.
    """
    raw = " ".join(str(text).replace("\u2212", "-").split())
    core = defn.core_items
    single = core[0] if len(core) == 1 else None
    low, high = defn.scale_range
    scale = printed_scale(single) if single is not None else f"{low:g} to {high:g}"
    try:
        value = float(raw)
    except ValueError:
        if single is None or single.kind != "choice" or mean_of != 1:
            raise AnswerError({"": f"the {defn.code} value {raw[:20]!r} is not a number"}) from None
        try:
            answer = read_answer(single, raw)
        except AnswerError:
            answer = None
        if answer is None:  # a blank value reads as no answer: not a score either
            raise AnswerError(
                {"": f"the {defn.code} value {raw[:20]!r} is not on the form's scale ({scale})"}
            ) from None
        value = float(answer)
    if not math.isfinite(value) or not low <= value <= high:
        raise AnswerError({"": f"the {defn.code} value {raw[:20]} is outside the scale ({scale})"})
    steps = value * mean_of
    if whole_totals(defn) and abs(steps - round(steps)) > 1e-9:
        if mean_of > 1:
            raise AnswerError({"": f"the {defn.code} value {raw} is not a mean of {mean_of} ratings ({scale})"})
        hint = " (if the column is the mean of several ratings, say how many with --mean-of)" if single else ""
        raise AnswerError({"": f"the {defn.code} value {raw} is not on the form's scale ({scale}){hint}"})
    reachable = possible_totals(defn) if mean_of == 1 else None
    if reachable is not None and Fraction(round(value)) not in reachable:
        raise AnswerError({"": f"the {defn.code} value {raw} is not a total the form can give ({_items_scale(defn)})"})
    return value


def _items_scale(defn: Instrument) -> str:
    first = defn.core_items[0]
    return f"{len(defn.core_items)} items, each {printed_scale(first)}"


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
