"""What a questionnaire form shows for each item: the shipped wording, or the item's topic label where the
wording is licensed and not shipped, and the end anchors of 0-N scales.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from needlepoint.outcomes.scoring import INSTRUMENTS_DIR, Instrument, Item, instrument


@dataclass(frozen=True)
class ItemText:
    """How one item is shown: its text, whether that is only a topic label, and its scale anchors."""

    item_id: str
    text: str
    is_topic_label: bool
    anchors: Mapping[int, str]


@functools.cache
def _raw_anchors(code: str) -> Mapping[str, Mapping[int, str]]:
    data = json.loads((INSTRUMENTS_DIR / f"{code.lower()}.json").read_text(encoding="utf-8"))
    found: dict[str, Mapping[int, str]] = {}
    for raw in data.get("items", []):
        spec = raw.get("numeric") or {}
        anchors = spec.get("anchors") or {}
        found[raw["id"]] = MappingProxyType({int(k): str(v) for k, v in anchors.items()})
    return MappingProxyType(found)


def item_text(defn: Instrument, item: Item) -> ItemText:
    """The text to show for ``item``: its wording if shipped, else its topic label (flagged as such)."""
    anchors = _raw_anchors(defn.code).get(item.id, MappingProxyType({}))
    if item.wording:
        return ItemText(item.id, item.wording, False, anchors)
    return ItemText(item.id, item.label, True, anchors)


def licence_note(code: str) -> str:
    """The instrument's licence note, shown above its form (it says where the wording comes from)."""
    defn = instrument(code)
    return str(defn.licence.get("note", ""))


def wording_shipped(code: str) -> bool:
    """Whether the instrument's own item wording is shipped (False for licensed instruments such as HIT-6)."""
    return bool(instrument(code).licence.get("wording_shipped", False))
