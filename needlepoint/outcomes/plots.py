"""Progress plots drawn with matplotlib: pain before and after each visit, questionnaire totals with the MCID
band from baseline, and range of motion against normal. Each ``draw_*`` function draws onto an axes (used by
the one-page PDF report too); each ``*_svg`` function returns a self-contained inline SVG for a page.

Several observations on one day are each drawn, in the order taken (see ``timeline.day_positions``).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: matplotlib itself is imported below, after MPLCONFIGDIR is set
    from matplotlib.typing import RcKeyType


def _writable_config_dir() -> None:
    """matplotlib caches fonts in its config directory; use a private temp one where HOME is not writable."""
    if os.environ.get("MPLCONFIGDIR"):
        return
    home = Path(os.path.expanduser("~")) / ".config" / "matplotlib"
    try:
        home.mkdir(parents=True, exist_ok=True)
        if os.access(home, os.W_OK):
            return
    except OSError:
        pass
    private = Path(tempfile.gettempdir()) / f"needlepoint-matplotlib-{os.getuid()}"
    private.mkdir(mode=0o700, exist_ok=True)
    os.environ["MPLCONFIGDIR"] = str(private)


_writable_config_dir()

import matplotlib as matplotlib  # noqa: E402  (named again so insights.plots can take it from here)

matplotlib.use("Agg")

from django.core.cache import cache  # noqa: E402
from django.utils.translation import gettext  # noqa: E402
from matplotlib import dates as mdates  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from needlepoint.inline_svg import without_inline_styles  # noqa: E402
from needlepoint.outcomes.progress import PainSummary, RomRow, Series, short  # noqa: E402
from needlepoint.outcomes.timeline import day_positions  # noqa: E402

INK, MUTED, LINE = "#1d2733", "#5b6b7c", "#d8dee6"
BRAND, OK, BAD, WARN = "#1f6f8b", "#1e7b4a", "#b3261e", "#9a6200"
STYLE: dict[RcKeyType, Any] = {
    # Text on a plot or PDF is printed as typed: a name or note with "$...$" is not mathtext (nor TeX) to run.
    "text.parse_math": False,
    "text.usetex": False,
    "font.size": 9,
    "axes.edgecolor": LINE,
    "axes.labelcolor": MUTED,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "needlepoint",
}
MARKERS = {"clinician": "o", "patient": "^"}
PLOT_VERSION = "3"  # part of every cache key: change it when the drawing code changes
CACHE_SECONDS = 24 * 3600
LABEL_POINTS_UP_TO = 14
MIN_DAYS_SHOWN = 7  # print the value beside each point when there are this few


def _date_axis(ax: Axes, positions: list[float]) -> None:
    if not positions:
        return
    low, high = min(positions), max(positions)
    if high - low < MIN_DAYS_SHOWN:  # a short series still gets a readable axis of whole days
        middle = (low + high) / 2
        low, high = middle - MIN_DAYS_SHOWN / 2, middle + MIN_DAYS_SHOWN / 2
    pad = max(0.5, (high - low) * 0.04)
    ax.set_xlim(low - pad, high + pad)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(axis="y", color=LINE, linewidth=0.6)


def draw_pain(ax: Axes, pain: PainSummary, reported: Series | None = None) -> None:
    """Pain before (filled) and after (open) each visit, joined by a line; patient-reported pain as triangles."""
    visits = [v for v in pain.visits if v.before is not None or v.after is not None]
    extra = reported.points if reported is not None else []
    positions = day_positions([v.started_at for v in visits] + [p.observed_at for p in extra])
    visit_x, extra_x = positions[: len(visits)], positions[len(visits) :]
    befores = [(x, v.before) for x, v in zip(visit_x, visits, strict=True) if v.before is not None]
    afters = [(x, v.after) for x, v in zip(visit_x, visits, strict=True) if v.after is not None]
    segments = [
        [(x, v.before), (x, v.after)]
        for x, v in zip(visit_x, visits, strict=True)
        if v.before is not None and v.after is not None
    ]
    ax.add_collection(LineCollection(segments, colors=LINE, linewidths=1.2, zorder=1))
    small = len(visits) > 40
    if befores:
        ax.plot(*zip(*befores, strict=True), color=BAD, linewidth=0.8, alpha=0.5, zorder=2)
        before_x, before_y = zip(*befores, strict=True)
        ax.scatter(before_x, before_y, color=BAD, s=12 if small else 22, zorder=3, label=gettext("Before visit"))
    if afters:
        after_x, after_y = zip(*afters, strict=True)
        ax.scatter(
            after_x,
            after_y,
            facecolors="white",
            edgecolors=OK,
            s=12 if small else 22,
            linewidths=1.2,
            zorder=3,
            label=gettext("After visit"),
        )
    if extra:
        ax.scatter(
            extra_x,
            [p.value for p in extra],
            marker="^",
            color=BRAND,
            s=26,
            zorder=4,
            label=gettext("Pain reported (NPRS)"),
        )
    ax.set_ylim(-0.3, 10.3)
    ax.set_yticks(range(0, 11, 2))
    ax.set_ylabel("Pain 0-10")
    _date_axis(ax, positions)
    if befores or afters or extra:
        ax.legend(loc="lower right", bbox_to_anchor=(1, 1), fontsize=7, frameon=False, ncol=3)


def draw_series(ax: Axes, series: Series, title: bool = False) -> None:
    """Totals over time with the baseline, the MCID band from baseline, and markers by source."""
    points = series.points
    positions = day_positions([p.observed_at for p in points])
    low, high = series.defn.scale_range
    band = series.band()
    if band is not None and series.baseline is not None:
        start = positions[points.index(series.baseline)]
        end = max(positions) + max(1.0, (max(positions) - min(positions)) * 0.04)
        ax.fill_between([start, end], band[0], band[1], color=OK, alpha=0.12, linewidth=0, zorder=0)
        ax.axhline(series.baseline.value, color=MUTED, linewidth=0.8, linestyle="--", zorder=1)
        target = band[0] if series.defn.direction == "higher_is_worse" else band[1]
        ax.axhline(target, color=OK, linewidth=0.8, linestyle=":", zorder=1)
    ax.plot(positions, [p.value for p in points], color=BRAND, linewidth=1, alpha=0.6, zorder=2)
    for source, marker in MARKERS.items():
        chosen = [(x, p.value) for x, p in zip(positions, points, strict=True) if p.source == source]
        if chosen:
            chosen_x, chosen_y = zip(*chosen, strict=True)
            ax.scatter(chosen_x, chosen_y, marker=marker, color=BRAND, s=30, zorder=3)
    if len(points) <= LABEL_POINTS_UP_TO:
        for x, p in zip(positions, points, strict=True):
            ax.annotate(
                short(p.value),
                (x, p.value),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=7,
                color=INK,
            )
    margin = (high - low) * 0.04
    ax.set_ylim(low - margin, high + margin)
    ax.set_ylabel(series.defn.unit)
    if title:
        ax.set_title(series.defn.name, fontsize=9, loc="left", color=INK, pad=14)
    _date_axis(ax, positions)
    handles = [
        Line2D([], [], marker="o", color=BRAND, linestyle="", label=gettext("Clinician")),
        Line2D([], [], marker="^", color=BRAND, linestyle="", label=gettext("Patient-reported")),
    ]
    if band is not None:
        handles.append(Line2D([], [], color=OK, linewidth=6, alpha=0.25, label=gettext("MCID band from baseline")))
    ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1, 1), ncol=3, fontsize=7, frameon=False)


def draw_rom(ax: Axes, rows: list[RomRow]) -> None:
    """Latest degrees (solid) over the first measurement (pale) for each movement, with the normal value marked."""
    labels = []
    for index, row in enumerate(rows):
        y = len(rows) - 1 - index
        side = f" ({row.side})" if row.side else ""
        labels.append(f"{row.label}{side}")
        if len(row.measurements) > 1:
            ax.barh(y, row.first.degrees, height=0.6, color=BRAND, alpha=0.2, zorder=1)
        ax.barh(y, row.latest.degrees, height=0.34, color=BRAND, zorder=2)
        ax.plot([row.normal, row.normal], [y - 0.4, y + 0.4], color=INK, linewidth=1.6, zorder=3)
        percent = row.latest.percent_of_normal
        note = f"{short(row.latest.degrees)}°" + (f" · {percent:.0f}% of normal" if percent is not None else "")
        ax.annotate(
            note,
            (max(row.latest.degrees, row.normal, 0), y),
            textcoords="offset points",
            xytext=(6, -3),
            fontsize=7,
            color=INK,
        )
    ax.set_yticks(range(len(rows)), list(reversed(labels)))
    ax.set_xlabel("Degrees (pale: first measurement; solid: latest; black tick: normal)")
    highest = max([max(r.normal, r.latest.degrees, r.first.degrees) for r in rows] + [10])
    lowest = min([min(r.latest.degrees, r.first.degrees) for r in rows] + [0])
    ax.set_xlim(lowest, highest * 1.45)
    ax.axvline(0, color=LINE, linewidth=0.8)
    ax.grid(axis="x", color=LINE, linewidth=0.6)


def svg_of(fig: Figure, label: str) -> str:
    """The figure as an inline SVG that scales with the page, named for screen readers, with no style attribute."""
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    svg = text[text.find("<svg") :]
    # Scale with the page: drop the fixed size, keep the viewBox, and name the image for screen readers.
    # Colours as presentation attributes, not style=: the page's Content-Security-Policy refuses inline styles.
    svg = without_inline_styles(svg)
    return re.sub(
        r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
        lambda m: f'<svg{m.group(1)} width="100%" role="img" aria-label="{label}"',
        svg,
        count=1,
    )


def _figure(width: float, height: float, left: float = 0.6) -> tuple[Figure, Axes]:
    """A figure with fixed margins in inches (room for the legend above and the date axis below).

    Fixed margins instead of a "tight" bounding box: that would draw every figure twice.
    """
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(left=left / width, right=1 - 0.15 / width, top=1 - 0.35 / height, bottom=0.5 / height)
        ax = fig.add_subplot()
    return fig, ax


def pain_svg(pain: PainSummary, reported: Series | None = None) -> str:
    """Pain at each visit, before and after, as inline SVG ('' when there is nothing to plot)."""
    if not any(v.before is not None or v.after is not None for v in pain.visits) and not (reported and reported.points):
        return ""
    with matplotlib.rc_context(STYLE):
        fig, ax = _figure(7.5, 2.8)
        draw_pain(ax, pain, reported)
        return svg_of(fig, "Pain before and after each visit")


def series_svg(series: Series) -> str:
    """One instrument's totals over time with the MCID band from baseline, as inline SVG."""
    if not series.points:
        return ""
    with matplotlib.rc_context(STYLE):
        fig, ax = _figure(7.5, 2.6)
        draw_series(ax, series)
        return svg_of(fig, f"{series.defn.name} over time")


def rom_svg(rows: list[RomRow]) -> str:
    """Range of motion against normal, as inline SVG."""
    if not rows:
        return ""
    with matplotlib.rc_context(STYLE):
        longest = max(len(r.label) + (len(r.side) + 3 if r.side else 0) for r in rows)
        fig, ax = _figure(7.5, 0.9 + 0.42 * len(rows), left=0.3 + 0.062 * longest)
        draw_rom(ax, rows)
        return svg_of(fig, "Range of motion against normal")


def _fingerprint(value: Any) -> Any:
    """Everything a plot is drawn from, as plain tuples (so equal data gives an equal cache key)."""
    if isinstance(value, PainSummary):
        return ("pain", tuple((v.started_at.isoformat(), v.before, v.after) for v in value.visits))
    if isinstance(value, Series):
        baseline = value.baseline.pk if value.baseline else None
        points = tuple((p.pk, p.observed_at.isoformat(), p.value, p.source, p.time_point) for p in value.points)
        return ("series", value.code, baseline, points)
    if isinstance(value, list):
        return tuple(
            (
                r.joint,
                r.movement,
                r.side,
                r.method,
                tuple((m.pk, m.degrees, m.percent_of_normal) for m in r.measurements),
            )
            for r in value
        )
    return value


def _cache_key(render: Callable[..., str], inputs: tuple[Any, ...]) -> str:
    raw = repr((PLOT_VERSION, render.__name__, [_fingerprint(i) for i in inputs])).encode()
    return "outcomes-plot:" + hashlib.sha256(raw).hexdigest()


def drawn(*plots: tuple[Callable[..., str], tuple[Any, ...]]) -> list[str]:
    """Each ``render(*inputs)`` of ``plots``, reused from the shared cache while its plotted data is unchanged.

    The key is a hash of the data itself (and the plot code's version), so a new observation, visit or
    measurement gives a new key: nothing has to be invalidated, and a stale plot cannot be shown. All the
    page's plots are read in one query and the missing ones stored in one more, whatever their number.
    """
    keys = [_cache_key(render, inputs) for render, inputs in plots]
    found = cache.get_many(keys)
    missing = {key: render(*inputs) for key, (render, inputs) in zip(keys, plots, strict=True) if key not in found}
    if missing:
        cache.set_many(missing, CACHE_SECONDS)
    return [found[key] if key in found else missing[key] for key in keys]


def cached(render: Callable[..., str], *inputs: Any) -> str:
    """One plot through :func:`drawn`."""
    return drawn((render, inputs))[0]
