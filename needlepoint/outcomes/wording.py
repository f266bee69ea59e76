"""What a questionnaire form shows for each item: the shipped wording, the clinic's own licensed wording where
it entered one, or else the item's topic label where the wording is licensed and not shipped, and the end
anchors of 0-N scales. Also the check of a clinic's licensed wording against the instrument's structure.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from needlepoint.outcomes.scoring import INSTRUMENTS_DIR, Instrument, Item, instrument, plain_number


@dataclass(frozen=True)
class ItemText:
    """How one item is shown: its text, whether that is only a topic label, and its scale anchors."""

    item_id: str
    text: str
    is_topic_label: bool
    anchors: Mapping[int, str]
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnteredWording:
    """A clinic's licensed wording for one instrument: item id -> question, and item id -> option texts."""

    questions: Mapping[str, str]
    options: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_items(cls, items: Mapping[str, Mapping[str, Any]]) -> EnteredWording:
        """From the stored form ``{item id: {"question": ..., "options": [...]}}``."""
        return cls(
            questions={k: str(v.get("question", "")) for k, v in items.items()},
            options={k: tuple(str(o) for o in v.get("options", ())) for k, v in items.items()},
        )


class WordingError(ValueError):
    """A clinic's wording does not fit the instrument; ``problems`` maps an item id (or '') to the reason."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in problems.items()))
        self.problems = dict(problems)


MAX_TEXT = 1000  # longer than any published item or statement
ENGLISH = "en"
LANGUAGES = ("en", "es")


@functools.cache
def _raw_anchors(code: str) -> Mapping[str, Mapping[int, str]]:
    data = json.loads((INSTRUMENTS_DIR / f"{code.lower()}.json").read_text(encoding="utf-8"))
    found: dict[str, Mapping[int, str]] = {}
    for raw in data.get("items", []):
        spec = raw.get("numeric") or {}
        anchors = spec.get("anchors") or {}
        found[raw["id"]] = MappingProxyType({int(k): str(v) for k, v in anchors.items()})
    return MappingProxyType(found)


def item_text(defn: Instrument, item: Item, entered: EnteredWording | None = None, language: str = ENGLISH) -> ItemText:
    """The text to show for ``item`` and its option texts: the shipped wording, else the clinic's entered
    wording, else the topic label and option labels from the data file (flagged as a topic label).

    In another language than English only the shipped wording of that language is shown (``language_text``);
    an instrument without it is never put before that patient (``has_wording``)."""
    if language != ENGLISH:
        return _translated_item(defn, item, language)
    anchors = _raw_anchors(defn.code).get(item.id, MappingProxyType({}))
    shipped_options = tuple(option.label for option in item.options)
    if item.wording:
        return ItemText(item.id, item.wording, False, anchors, shipped_options)
    if entered is not None and entered.questions.get(item.id):
        options = entered.options.get(item.id, ())
        return ItemText(
            item.id,
            entered.questions[item.id],
            False,
            anchors,
            options if len(options) == len(item.options) else shipped_options,
        )
    return ItemText(item.id, item.label, True, anchors, shipped_options)


def _scores_given_as_statements(item: Item, options: Sequence[str]) -> list[int]:
    """The positions (from 1) of options whose text is only the score label of an item whose options are its
    scores (``Item.options_are_scores``): not the licensed statement a patient must read."""
    if not item.options_are_scores():
        return []
    labels = {option.label.strip().casefold() for option in item.options}
    labels |= {plain_number(option.printed) for option in item.options}
    return [n + 1 for n, text in enumerate(options) if text.strip().casefold() in labels]


def check_wording(defn: Instrument, items: Any) -> dict[str, dict[str, Any]]:
    """A clinic's wording for ``defn`` in its stored form, checked against the instrument's structure.

    ``items`` maps every item id of the instrument to ``{"question": text, "options": [texts]}`` with exactly
    the item's number of options in published order (none for numeric and measurement items). Texts are
    trimmed and must not be empty. Raises WordingError naming each problem; unknown item ids are refused.
    """
    if wording_shipped(defn.code):
        raise WordingError({"": f"{defn.code}'s wording is shipped with Needlepoint; there is nothing to enter."})
    if not isinstance(items, Mapping):
        raise WordingError({"": "Give the wording as an object keyed by item id."})
    problems: dict[str, str] = {}
    known = {item.id for item in defn.items}
    for unknown in sorted(str(k) for k in items if k not in known):
        problems[unknown] = f"{unknown} is not an item of {defn.code}."
    cleaned: dict[str, dict[str, Any]] = {}
    for item in defn.items:
        given = items.get(item.id)
        if not isinstance(given, Mapping):
            problems[item.id] = f"The wording of item {item.id} is missing."
            continue
        question = given.get("question")
        options = given.get("options", [])
        if not isinstance(question, str) or not question.strip():
            problems[item.id] = f"Item {item.id} needs its question text."
            continue
        if not isinstance(options, list | tuple) or not all(isinstance(o, str) for o in options):
            problems[item.id] = f"Item {item.id}: the options must be a list of texts."
            continue
        if len(options) != len(item.options):
            problems[item.id] = (
                f"Item {item.id} has {len(item.options)} options in published order; {len(options)} were given."
            )
            continue
        empty = [n + 1 for n, o in enumerate(options) if not o.strip()]
        if empty:
            problems[item.id] = f"Item {item.id}: option {', '.join(map(str, empty))} has no text."
            continue
        scores = _scores_given_as_statements(item, options)
        if scores:
            # The data file's option labels are the scores (the statements are licensed): a score kept as an
            # option's text would reach the patient as if it were the statement.
            problems[item.id] = (
                f"Item {item.id}: option {', '.join(map(str, scores))} gives the score, not the statement: enter "
                "each statement as the clinic's licensed form prints it."
            )
            continue
        texts = [question.strip(), *(o.strip() for o in options)]
        if any(len(t) > MAX_TEXT for t in texts):
            problems[item.id] = f"Item {item.id}: a text is longer than {MAX_TEXT} characters."
            continue
        cleaned[item.id] = {"question": texts[0], "options": texts[1:]}
    if problems:
        raise WordingError(problems)
    return cleaned


def licence_note(code: str) -> str:
    """The instrument's licence note, shown above its form (it says where the wording comes from)."""
    defn = instrument(code)
    return str(defn.licence.get("note", ""))


def wording_shipped(code: str) -> bool:
    """Whether the instrument's own item wording is shipped (False for licensed instruments such as HIT-6)."""
    return bool(instrument(code).licence.get("wording_shipped", False))


def language_terms(code: str, language: str) -> Mapping[str, Any]:
    """The instrument's licence terms for one language (``licence.languages.<code>`` in its data file): the
    wording's state ('shipped', 'clinic' or 'none'), whether it may be shipped, for which uses, the source,
    and for a translation its validation paper; empty when the file records none."""
    terms: Mapping[str, Any] = instrument(code).licence.get("languages", {}).get(language, {})
    return terms


def language_text(code: str, language: str) -> Mapping[str, Any]:
    """The shipped translation of an instrument (name and items' wording and anchors), or empty."""
    terms = language_terms(code, language)
    return terms.get("text", {}) if terms.get("wording") == "shipped" and terms.get("may_ship") is True else {}


def has_wording(code: str, language: str, entered: bool = False) -> bool:
    """Whether a patient reading ``language`` can be given the instrument: in English its shipped wording or
    the clinic's entered licensed wording (``entered``); in another language a shipped translation whose terms
    allow it, with a text for every item. A measurement taken by the clinician has no patient wording."""
    if language == ENGLISH:
        return wording_shipped(code) or entered
    text = language_text(code, language)
    return bool(text) and all(item.id in text.get("items", {}) for item in instrument(code).items)


def name_in(defn: Instrument, language: str) -> str:
    """The instrument's name as the patient reads it."""
    return str(language_text(defn.code, language).get("name", defn.name)) if language != ENGLISH else defn.name


def _translated_item(defn: Instrument, item: Item, language: str) -> ItemText:
    given = language_text(defn.code, language).get("items", {}).get(item.id)
    if not given or not given.get("wording"):
        # Callers check has_wording first; this refusal keeps a topic label from ever reaching the patient.
        raise WordingError({item.id: f"{defn.code} has no shipped {language} wording for item {item.id}."})
    anchors = MappingProxyType({int(k): str(v) for k, v in given.get("anchors", {}).items()})
    options = tuple(str(o) for o in given.get("options", ()))
    if item.options and len(options) != len(item.options):
        raise WordingError({item.id: f"{defn.code} item {item.id} lacks its {language} option texts."})
    return ItemText(item.id, str(given["wording"]), False, anchors, options)
