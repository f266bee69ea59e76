"""The clinic's needle stock: which diameters and lengths can be recorded for a needling entry.

Pure Python, no Django. The default stock is ``data/needle_stock.json`` ([S29], a
low-authority source). Diameters are compared in millimetres, with a tolerance for values that arrive as
floats or Decimals, because gauge numbering differs between manufacturers. A needle not in stock is refused
with a machine code and the input field it concerns (``STOCK_PROBLEMS``); the words shown are the stock
file's ``messages``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "needle_stock.json"

# Sizes arrive as floats or Decimals (0.25 or Decimal("0.250")): compare within a millionth of a millimetre,
# far below the 0.01 mm steps between real needle sizes.
_TOLERANCE_MM = 1e-6
_SOURCE_KEY = re.compile(r"\[S\d+")

# Why a needle cannot be recorded -> the input field it concerns. The words are the stock file's "messages".
STOCK_PROBLEMS = {"diameter_not_stocked": "diameter_mm", "length_not_stocked": "length_mm"}
_MESSAGE_FIELDS = ("{value}", "{stocked}")


class NeedleStockError(ValueError):
    """A stock file is malformed, or a needle is not in stock; the message says which and why."""


@dataclass(frozen=True)
class StockProblem:
    """Why a needle cannot be recorded: a machine code, the input field it concerns and the words to show."""

    code: str
    field: str
    message: str


class NeedleNotStocked(NeedleStockError):
    """A needle size the clinic does not stock; ``problems`` says which size is missing, one per field."""

    def __init__(self, problems: list[StockProblem]) -> None:
        super().__init__(" ".join(p.message for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class NeedleDiameter:
    """A stocked needle diameter, with its gauge label when a source gives one."""

    diameter_mm: float
    gauge: str | None
    source: str
    unverified: bool
    note: str = ""

    @property
    def label(self) -> str:
        """How the diameter is shown: "0.25 mm (32G)", or "0.18 mm" without a sourced gauge."""
        return f"{self.diameter_mm:.2f} mm ({self.gauge})" if self.gauge else f"{self.diameter_mm:.2f} mm"


@dataclass(frozen=True)
class NeedleLength:
    """A stocked needle length."""

    length_mm: float
    source: str
    unverified: bool
    note: str = ""


@dataclass(frozen=True)
class NeedleStock:
    """Every diameter and length a clinic stocks."""

    diameters: tuple[NeedleDiameter, ...]
    lengths: tuple[NeedleLength, ...]
    authority: str
    messages: dict[str, str]  # STOCK_PROBLEMS code -> words, with {value} and {stocked}


@dataclass(frozen=True)
class NeedleSize:
    """A needle that is in stock: its diameter and length."""

    diameter: NeedleDiameter
    length: NeedleLength

    @property
    def label(self) -> str:
        """For example "0.25 mm (32G) x 40 mm"."""
        return f"{self.diameter.label} x {self.length.length_mm:g} mm"


def load_needle_stock(path: Path = DATA_FILE) -> NeedleStock:
    """Read and validate a needle stock file; raise NeedleStockError listing every problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        diameters = tuple(_diameter(entry) for entry in raw["diameters"])
        lengths = tuple(_length(entry) for entry in raw["lengths"])
        stock = NeedleStock(diameters, lengths, str(raw["authority"]), dict(raw["messages"]))
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise NeedleStockError(f"{path}: cannot be read as a needle stock: {exc!r}") from exc
    problems = _stock_problems(stock)
    if problems:
        raise NeedleStockError(f"{path}: invalid needle stock:\n- " + "\n- ".join(problems))
    return stock


@cache
def needle_stock() -> NeedleStock:
    """The default clinic stock from the packaged data file."""
    return load_needle_stock(DATA_FILE)


def _diameter(entry: dict[str, Any]) -> NeedleDiameter:
    return NeedleDiameter(
        entry["diameter_mm"], entry["gauge"], entry["source"], entry["unverified"], entry.get("note", "")
    )


def _length(entry: dict[str, Any]) -> NeedleLength:
    return NeedleLength(entry["length_mm"], entry["source"], entry["unverified"], entry.get("note", ""))


def _stock_problems(stock: NeedleStock) -> list[str]:
    problems = []
    if not stock.diameters or not stock.lengths:
        problems.append("a stock needs at least one diameter and one length.")
    sized: list[tuple[str, float, NeedleDiameter | NeedleLength]]
    sized = [(f"diameter {d.diameter_mm}", d.diameter_mm, d) for d in stock.diameters]
    sized += [(f"length {n.length_mm}", n.length_mm, n) for n in stock.lengths]
    for name, size, entry in sized:
        if not _is_positive(size):
            problems.append(f"{name}: must be a positive number of millimetres.")
        if not _SOURCE_KEY.search(entry.source):
            problems.append(f"{name}: the source must cite a key of the project's references such as [S29].")
        if not isinstance(entry.unverified, bool) or (entry.unverified and not entry.note.strip()):
            problems.append(f"{name}: unverified must be true/false, and true needs a note.")
    diameters = [d.diameter_mm for d in stock.diameters]
    lengths = [n.length_mm for n in stock.lengths]
    for name, values in (("diameter", diameters), ("length", lengths)):
        if len(set(values)) != len(values):
            problems.append(f"a {name} is listed more than once.")
    for code in STOCK_PROBLEMS:
        words = stock.messages.get(code)
        if not isinstance(words, str) or not all(field in words for field in _MESSAGE_FIELDS):
            problems.append(f"messages: {code} needs words with {' and '.join(_MESSAGE_FIELDS)}.")
    return problems


def _is_positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def validate_needle(
    diameter_mm: float | Decimal, length_mm: float | Decimal, stock: NeedleStock | None = None
) -> NeedleSize:
    """The stocked needle of this diameter and length, or NeedleNotStocked saying what is stocked."""
    stock = needle_stock() if stock is None else stock
    diameter = _find(stock.diameters, diameter_mm, lambda d: d.diameter_mm)
    length = _find(stock.lengths, length_mm, lambda n: n.length_mm)
    if diameter is not None and length is not None:
        return NeedleSize(diameter, length)
    problems = [p for p in (diameter_problem(diameter_mm, stock), length_problem(length_mm, stock)) if p is not None]
    raise NeedleNotStocked(problems)


def diameter_problem(diameter_mm: float | Decimal, stock: NeedleStock | None = None) -> StockProblem | None:
    """What is wrong with a diameter the stock does not hold (naming what it holds), or None when stocked."""
    stock = needle_stock() if stock is None else stock
    if _find(stock.diameters, diameter_mm, lambda d: d.diameter_mm) is not None:
        return None
    return _problem(stock, "diameter_not_stocked", diameter_mm, ", ".join(d.label for d in stock.diameters))


def length_problem(length_mm: float | Decimal, stock: NeedleStock | None = None) -> StockProblem | None:
    """What is wrong with a length the stock does not hold (naming what it holds), or None when stocked."""
    stock = needle_stock() if stock is None else stock
    if _find(stock.lengths, length_mm, lambda n: n.length_mm) is not None:
        return None
    stocked = ", ".join(f"{n.length_mm:g} mm" for n in stock.lengths)
    return _problem(stock, "length_not_stocked", length_mm, stocked)


def _problem(stock: NeedleStock, code: str, value: object, stocked: str) -> StockProblem:
    message = stock.messages[code].format(value=value, stocked=stocked)
    return StockProblem(code, STOCK_PROBLEMS[code], message)


def _find(entries: tuple[Any, ...], value: float | Decimal, size: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return next((e for e in entries if abs(size(e) - float(value)) <= _TOLERANCE_MM), None)
