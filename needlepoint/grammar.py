"""Small rules of English for generated text: counted nouns and sentences joined without doubled punctuation.

Pure Python, no Django: used by the visit note, the progress reports and the printed documents, so that
"1 visits", "(unverified).." and "layer.:" cannot be written by one part of the product and not another.
"""

from __future__ import annotations

from collections.abc import Iterable

_ENDINGS = (".", "!", "?")


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """The count with its noun in the right number: ``plural(1, "visit")`` → "1 visit", 2 → "2 visits",
    1.5 → "1.5 points" (only exactly one takes the singular)."""
    word = singular if abs(count) == 1 else (plural_form or singular + "s")
    return f"{count:g} {word}"


def clause(text: str) -> str:
    """``text`` stripped of its closing full stop, to stand before a colon, semicolon or comma.

    An ellipsis is left alone; only one trailing full stop is removed ("Deep layer." → "Deep layer").
    """
    text = (text or "").strip()
    if text.endswith(".") and not text.endswith("..."):
        return text[:-1].rstrip()
    return text


def sentence(text: str) -> str:
    """``text`` as one sentence: stripped, ending in exactly one full stop (or its own ! or ?).

    "Ache eased" → "Ache eased."; "(unverified)." stays as it is; "done.." → "done."; empty stays empty.
    """
    text = " ".join((text or "").split())
    if not text:
        return ""
    while text.endswith("..") and not text.endswith("..."):
        text = text[:-1]
    if text.endswith(" ."):
        text = text[:-2] + "."
    return text if text.endswith(_ENDINGS) else text + "."


def join_sentences(parts: Iterable[str]) -> str:
    """Non-empty ``parts`` as sentences joined by one space: ["Pain eased", "", "Walks further."] →
    "Pain eased. Walks further." """
    return " ".join(s for s in (sentence(p) for p in parts) if s)


def join_words(items: Iterable[str], conjunction: str = "and") -> str:
    """Items as a list in prose: "a", "a and b", "a, b and c"."""
    words = [w.strip() for w in items if w and w.strip()]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"
