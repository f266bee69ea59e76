"""The project's references: one file of every cited source, and the citation keys that point into it.

Pure module (no Django imports). ``needlepoint/references.json`` holds each source under the project's own key
(S14, T1a, EXT3, ...). Data files cite keys in "source"/"sources" fields and in brackets in prose ("[S14, S20]");
this module loads and checks the file, finds the keys a text cites, and orders keys for display.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

REFERENCES_FILE = Path(__file__).parent / "references.json"

# S and T keys come from the clinical reference, EXT keys from the atlas; a letter suffix names a part (T1a).
KEY = r"(?:S|T|EXT)\d+[a-z]?"
KEY_PATTERN = re.compile(rf"^{KEY}$")
KEY_IN_TEXT = re.compile(rf"\b{KEY}\b")
# A citation in prose is a bracketed list of keys only: "[S14]", "[S14, S20]", "[S49–S53]". Bare keys in prose
# are not citations ("T12" is also a vertebra, "S1" a spinal level), so they are never read as one.
BRACKETED = re.compile(rf"\[(\s*{KEY}(?:\s*(?:,|;|–|-|—)\s*{KEY})*\s*)\]")
KEY_LIST = re.compile(rf"^\s*{KEY}(?:\s*(?:,|;|–|-|—)\s*{KEY})*\s*$")

BIBLIOGRAPHIC_FIELDS = ("authors", "title", "publisher", "year", "doi", "url")
OPTIONAL_FIELDS = ("details", "pmid", "other_urls", "description", "reports", "parts", "note")


class ReferenceError(ValueError):
    """The references file breaks one of its rules; the message names the key and the rule."""


@dataclass(frozen=True)
class Reference:
    """One cited source: who wrote it, where it appeared, and whether the page read is the work itself."""

    key: str
    authors: str
    title: str
    publisher: str
    year: int | None
    doi: str
    url: str
    secondary: bool
    unknown: tuple[str, ...]
    description: str = ""
    details: str = ""
    pmid: str = ""
    reports: str = ""
    note: str = ""
    other_urls: tuple[str, ...] = ()
    parts: tuple[str, ...] = field(default=())

    @property
    def anchor(self) -> str:
        """The fragment of this reference on the references page (#S14)."""
        return self.key

    @property
    def doi_url(self) -> str:
        """The DOI as a resolvable address, or empty."""
        return f"https://doi.org/{self.doi}" if self.doi else ""

    @property
    def short(self) -> str:
        """One line naming the work: authors, title or description, publisher, year."""
        head = self.title or self.description
        publisher = "" if self.publisher in head else self.publisher
        year = str(self.year) if self.year and str(self.year) not in head else ""
        return ". ".join(b for b in (self.authors, head, publisher, year) if b)

    @property
    def citation(self) -> str:
        """The full reference in one line, in journal style: authors. Title. Publisher year;details. DOI. Address."""
        where = " ".join(b for b in (self.publisher, str(self.year) if self.year else "") if b)
        if self.details:
            where = f"{where};{self.details}" if self.year else ". ".join(b for b in (where, self.details) if b)
        parts = [b for b in (self.authors, self.title or self.description, where) if b]
        if self.doi:
            parts.append(f"doi:{self.doi}")
        if self.url and self.url != self.doi_url:
            parts.append(self.url)
        if self.secondary:
            parts.append(f"(secondary page, reporting: {self.reports})")
        return ". ".join(parts)


def _check_entry(key: str, raw: dict[str, Any]) -> Reference:
    def fail(rule: str) -> ReferenceError:
        return ReferenceError(f"{key}: {rule}")

    if not KEY_PATTERN.match(key):
        raise fail("a key is S, T or EXT followed by a number and an optional letter")
    allowed = set(BIBLIOGRAPHIC_FIELDS) | set(OPTIONAL_FIELDS) | {"secondary", "unknown"}
    if extra := sorted(set(raw) - allowed):
        raise fail(f"unknown field(s) {', '.join(extra)}")
    missing = [f for f in (*BIBLIOGRAPHIC_FIELDS, "secondary", "unknown") if f not in raw]
    if missing:
        raise fail(f"missing field(s) {', '.join(missing)}")
    unknown = raw["unknown"]
    if not isinstance(unknown, list) or not set(unknown) <= set(BIBLIOGRAPHIC_FIELDS):
        raise fail("'unknown' lists only bibliographic fields")
    for name in BIBLIOGRAPHIC_FIELDS:
        empty = raw[name] in ("", None)
        if empty and name not in unknown:
            raise fail(f"{name} is empty but not marked unknown")
        if not empty and name in unknown:
            raise fail(f"{name} is given but marked unknown")
    if not isinstance(raw["secondary"], bool):
        raise fail("'secondary' is true or false")
    year = raw["year"]
    if year is not None and not (isinstance(year, int) and 1900 <= year <= 2100):
        raise fail("year is a four-digit year")
    if raw["doi"] and not re.match(r"^10\.\d{4,9}/\S+$", raw["doi"]):
        raise fail("a DOI starts with 10. and a registrant code")
    for address in [raw["url"], *raw.get("other_urls", [])]:
        if address and not re.match(r"^https?://\S+$", address):
            raise fail(f"'{address}' is not a web address")
    if raw.get("pmid") and not str(raw["pmid"]).isdigit():
        raise fail("a PMID is digits only")
    if not (raw["title"] or raw.get("description")):
        raise fail("an entry without a known title needs a description")
    if raw["secondary"] and not raw.get("reports"):
        raise fail("a secondary page says which primary work it reports ('not identified' if unknown)")
    texts = {
        name: str(raw.get(name) or "")
        for name in ("authors", "title", "publisher", "details", "description", "reports", "note")
    }
    return Reference(
        key=key,
        authors=texts["authors"],
        title=texts["title"],
        publisher=texts["publisher"],
        year=year,
        doi=raw["doi"],
        url=raw["url"],
        secondary=raw["secondary"],
        unknown=tuple(unknown),
        description=texts["description"],
        details=texts["details"],
        pmid=str(raw.get("pmid") or ""),
        reports=texts["reports"],
        note=texts["note"],
        other_urls=tuple(raw.get("other_urls", [])),
        parts=tuple(raw.get("parts", [])),
    )


def parse_references(document: dict[str, Any]) -> dict[str, Reference]:
    """Every reference of a references document, checked; raises ReferenceError naming the first fault."""
    entries = document.get("references")
    if not isinstance(entries, dict) or not entries:
        raise ReferenceError("the file holds a non-empty 'references' object")
    references = {key: _check_entry(key, raw) for key, raw in entries.items()}
    for ref in references.values():
        if absent := [part for part in ref.parts if part not in references]:
            raise ReferenceError(f"{ref.key}: part(s) {', '.join(absent)} have no entry")
    return references


@cache
def references() -> dict[str, Reference]:
    """The project's references, by key, loaded and checked once."""
    return parse_references(json.loads(REFERENCES_FILE.read_text(encoding="utf-8")))


def sort_key(key: str) -> tuple[int, int, str]:
    """Order keys as the references page lists them: S, then T, then EXT, by number then letter."""
    match = re.match(r"^(S|T|EXT)(\d+)([a-z]?)$", key)
    if match is None:
        return (9, 0, key)
    return ({"S": 0, "T": 1, "EXT": 2}[match.group(1)], int(match.group(2)), match.group(3))


def keys_in_list(text: str) -> list[str]:
    """The keys of a citation list ("S14, S20", "S49–S53"): each key named, in order, without repeats."""
    return list(dict.fromkeys(KEY_IN_TEXT.findall(text)))


def bracketed_citations(text: str) -> Iterator[tuple[str, list[str]]]:
    """Each bracketed citation in prose, as its full text ("[S14, S20]") and its keys."""
    for match in BRACKETED.finditer(text):
        yield match.group(0), keys_in_list(match.group(1))


def is_key_list(text: str) -> bool:
    """Whether ``text`` is nothing but citation keys ("S1, S2"), as a source field usually is."""
    return bool(KEY_LIST.match(text))


def cited_keys(texts: Iterable[str], *, source_fields: Iterable[str] = ()) -> set[str]:
    """Every key cited by ``texts`` (bracketed citations) and ``source_fields`` (every key they name)."""
    found: set[str] = set()
    for text in texts:
        for _, keys in bracketed_citations(text):
            found.update(keys)
    for text in source_fields:
        found.update(KEY_IN_TEXT.findall(text))
    return found
