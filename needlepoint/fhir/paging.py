"""Paging of FHIR searches: ``_count``, ``_offset`` and ``_summary=count`` read from the parameters, and the
self/first/previous/next/last links of a searchset Bundle. Pure: no Django.

``_count`` is the page size FHIR defines (R4, search, 3.1.1.5.6); FHIR leaves the paging parameter itself to the
server, and this one uses ``_offset`` (the number of matches before the page), which every link carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

DEFAULT_COUNT = 50
MAX_COUNT = 500
PAGING_PARAMS = ("_count", "_offset", "_summary")


class PagingError(ValueError):
    """A paging parameter that cannot be honoured; the message says what to send instead."""


@dataclass(frozen=True)
class Page:
    """Which matches to return: ``count`` from ``offset`` on, or only the total when ``summary_count``."""

    count: int = DEFAULT_COUNT
    offset: int = 0
    summary_count: bool = False

    def window(self, total: int) -> tuple[int, int]:
        """The slice [start, stop) of ``total`` matches that this page holds."""
        if self.summary_count:
            return 0, 0
        start = min(self.offset, total)
        return start, min(start + self.count, total)


def _whole(name: str, text: str, smallest: int, largest: int) -> int:
    if not (text.isascii() and text.isdigit()) or not smallest <= int(text) <= largest:
        raise PagingError(f"{name} must be a whole number from {smallest} to {largest}; got {text!r}.")
    return int(text)


def page_from(params: Mapping[str, str], default: int = DEFAULT_COUNT) -> Page:
    """The page the parameters ask for (``default`` matches when ``_count`` is not given); a PagingError for a
    value that cannot be honoured."""
    summary = params.get("_summary")
    if summary is not None and summary != "count":
        raise PagingError(f"_summary={summary} is not supported; _summary=count returns the total alone.")
    count = _whole("_count", params["_count"], 0, MAX_COUNT) if "_count" in params else default
    offset = _whole("_offset", params["_offset"], 0, 10**9) if "_offset" in params else 0
    # _count=0 asks for the total alone, like _summary=count (R4, search, 3.1.1.5.6).
    return Page(count=count, offset=offset, summary_count=summary == "count" or count == 0)


def links(url: str, params: Sequence[tuple[str, str]], page: Page, total: int) -> list[dict[str, str]]:
    """The Bundle's links: self, and first/previous/next/last where the matches run over one page.

    ``url`` is the search's address without a query; ``params`` the search terms to carry (without paging).
    """
    kept = [(k, v) for k, v in params if k not in ("_count", "_offset")]

    def at(offset: int) -> str:
        return f"{url}?{urlencode([*kept, ('_count', str(page.count)), ('_offset', str(offset))])}"

    found = [{"relation": "self", "url": at(page.offset) if not page.summary_count else _self(url, params)}]
    if page.summary_count or (total <= page.count and page.offset == 0):
        return found
    last = max(total - 1, 0) // page.count * page.count
    found.append({"relation": "first", "url": at(0)})
    if page.offset > 0:
        found.append({"relation": "previous", "url": at(max(page.offset - page.count, 0))})
    if page.offset + page.count < total:
        found.append({"relation": "next", "url": at(page.offset + page.count)})
    found.append({"relation": "last", "url": at(last)})
    return found


def _self(url: str, params: Sequence[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(list(params))}" if params else url
