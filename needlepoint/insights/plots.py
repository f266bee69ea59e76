"""The evidence report's plots, drawn with matplotlib (Agg): each ``draw_*`` function draws onto a figure (the
PDF uses them too), each ``*_svg`` function returns an inline SVG for the page. Every estimate is drawn with its
95% interval; groups without enough data are named in the plot instead of drawn as zero.
"""

from __future__ import annotations

from needlepoint.outcomes import plots as outcome_plots  # sets a writable MPLCONFIGDIR and the Agg backend
from needlepoint.outcomes.plots import svg_of

matplotlib = outcome_plots.matplotlib
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from needlepoint.insights.report import ClaimsReport, MeasureResult  # noqa: E402
from needlepoint.insights.survival import CurvePoint, KaplanMeier  # noqa: E402

STYLE = outcome_plots.STYLE
INK, MUTED, LINE = outcome_plots.INK, outcome_plots.MUTED, outcome_plots.LINE
NEEDLED, OTHER, PUBLISHED = outcome_plots.BRAND, "#9a6200", "#5b6b7c"
MAX_CONDITIONS = 9


def _new_figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height))


def _row_axes(fig: Figure) -> Axes:
    """Axes for a plot of labelled rows, with room in inches (not shares of the figure, whose height follows the
    number of rows) for the title above and the ticks and axis label below, so neither is cut off."""
    height = fig.get_figheight()
    bottom, top = 0.62 / height, 1 - 0.3 / height
    return fig.add_axes((0.32, bottom, 0.64, top - bottom))


def _short(label: str) -> str:
    return label if len(label) <= 26 else label[:24] + "…"


# ---------------------------------------------------------------------------------------------------- relief


def draw_relief(fig: Figure, report: ClaimsReport) -> None:
    """Share of responders (pain at least 2 points or 30% below baseline) before visit 2 and before visit 3, by
    cohort; each time point its own figure, the immediate change left to the table."""
    rows = list(report.relief)[: MAX_CONDITIONS * 2]
    with matplotlib.rc_context(STYLE):
        ax = _row_axes(fig)
        labels, position = [], 0.0
        for row in rows:
            for offset, share, marker in ((0.0, row.before_visit_2, "o"), (0.28, row.before_visit_3, "s")):
                y = -(position + offset)
                colour = NEEDLED if row.cohort == "needled" else OTHER
                bar = _bar(share.value, share.low, share.high)
                if share.enough_data and bar is not None:
                    ax.errorbar(
                        bar[0] * 100,
                        y,
                        xerr=[[100 * bar[1]], [100 * bar[2]]],
                        fmt=marker,
                        color=colour,
                        markersize=4,
                        capsize=2,
                        linewidth=1,
                    )
                else:
                    ax.text(1, y, "not enough data", fontsize=6, color=MUTED, va="center")
            labels.append((-(position + 0.14), f"{_short(row.condition_label)} ({row.cohort})"))
            position += 1.0
        ax.axvline(50, color=MUTED, linewidth=0.8, linestyle="--")
        ax.set_xlim(0, 100)
        ax.set_yticks([y for y, _ in labels], [text for _, text in labels], fontsize=7)
        ax.set_xlabel(
            "% of episodes with pain ≥ 2 points or 30% below baseline\n(circle: before visit 2; square: before visit 3)"
        )
        ax.grid(axis="x", color=LINE, linewidth=0.6)
        fig.text(
            0.02,
            0.985,
            "Relief within the first treatment or two (95% Wilson intervals)",
            fontsize=9,
            color=INK,
            va="top",
        )


def relief_svg(report: ClaimsReport) -> str:
    """Relief before visits 2 and 3 as inline SVG ('' when there is nothing to plot)."""
    if not report.relief:
        return ""
    fig = _new_figure(7.5, 0.9 + 0.32 * min(len(report.relief), MAX_CONDITIONS * 2))
    draw_relief(fig, report)
    return outcome_plots.svg_of(
        fig, "Relief before visits 2 and 3 by condition, needled and not needled at the first visit"
    )


# ---------------------------------------------------------------------------------------------------- change


def pain_rows(report: ClaimsReport, code: str = "NPRS") -> list[MeasureResult]:
    """The measure rows of one instrument, in report order."""
    return [row for row in report.measures if row.instrument == code]


def draw_change(fig: Figure, report: ClaimsReport, code: str = "NPRS") -> None:
    """Mean change from baseline to final value with 95% intervals, per condition, needled and not needled."""
    rows = pain_rows(report, code)[: MAX_CONDITIONS * 2]
    with matplotlib.rc_context(STYLE):
        ax = _row_axes(fig)
        ticks = []
        for index, row in enumerate(rows):
            y = -index
            colour = NEEDLED if row.cohort == "needled" else OTHER
            bar = _bar(row.change.value, row.change.low, row.change.high)
            if row.change.enough_data and bar is not None:
                ax.errorbar(
                    bar[0],
                    y,
                    xerr=[[bar[1]], [bar[2]]],
                    fmt="o",
                    color=colour,
                    markersize=4,
                    capsize=2,
                    linewidth=1,
                )
            else:
                ax.text(0, y, " not enough data", fontsize=6, color=MUTED, va="center")
            ticks.append((y, f"{_short(row.group)} ({row.cohort}, n={row.completers})"))
        ax.axvline(0, color=LINE, linewidth=0.8)
        if rows:
            from needlepoint.outcomes.scoring import instrument

            defn = instrument(code)
            if defn.mcid is not None:
                sign = -1 if defn.direction == "higher_is_worse" else 1
                ax.axvline(sign * defn.mcid.value, color=MUTED, linewidth=0.8, linestyle="--")
        ax.set_yticks([y for y, _ in ticks], [text for _, text in ticks], fontsize=7)
        ax.set_xlabel(f"Mean change in {code} from baseline (dashed: the MCID)")
        ax.grid(axis="x", color=LINE, linewidth=0.6)
        fig.text(0.02, 0.985, f"Change in {code} by the final value (95% intervals)", fontsize=9, color=INK, va="top")


def change_svg(report: ClaimsReport, code: str = "NPRS") -> str:
    """Mean change per condition as inline SVG ('' when there is nothing to plot)."""
    rows = pain_rows(report, code)
    if not rows:
        return ""
    fig = _new_figure(7.5, 0.9 + 0.26 * min(len(rows), MAX_CONDITIONS * 2))
    draw_change(fig, report, code)
    return svg_of(fig, f"Mean change in {code} by condition")


# ---------------------------------------------------------------------------------------------------- recovery


def _bar(value: float | None, low: float | None, high: float | None) -> tuple[float, float, float] | None:
    """An error bar: (value, distance down to the low bound, distance up to the high one); None without all three."""
    if value is None or low is None or high is None:
        return None
    return value, value - low, high - value


def _draw_curve(ax: Axes, curve: KaplanMeier, colour: str, label: str) -> None:
    if not curve.enough_data:
        return
    points = _drawn_points(curve)
    times = [point.time for point in points]
    survival = [point.survival for point in points]
    low = [point.ci_low if point.ci_low is not None else point.survival for point in points]
    high = [point.ci_high if point.ci_high is not None else point.survival for point in points]
    ax.step(times, survival, where="post", color=colour, linewidth=1.1, label=f"{label} (n={curve.n})")
    ax.fill_between(times, low, high, step="post", color=colour, alpha=0.15, linewidth=0)


MAX_CURVE_POINTS = 160


def _drawn_points(curve: KaplanMeier) -> list[CurvePoint]:
    """The points where the step curve changes (events), thinned evenly so a plot stays light at any size."""
    changes = [point for point in curve.points if point.events] or list(curve.points[:1])
    points = [curve.points[0], *changes, curve.points[-1]]
    if len(points) > MAX_CURVE_POINTS:
        step = len(points) / MAX_CURVE_POINTS
        points = [points[int(index * step)] for index in range(MAX_CURVE_POINTS)] + [points[-1]]
    return points


def draw_recovery(fig: Figure, report: ClaimsReport) -> None:
    """Kaplan-Meier curves of time to discharge with goals met, needled against not needled, per condition."""
    results = list(report.recovery)[:MAX_CONDITIONS]
    columns = 3 if len(results) > 4 else max(1, min(2, len(results)))
    rows = -(-len(results) // columns)
    with matplotlib.rc_context(STYLE):
        axes = fig.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
        for index, ax in enumerate(axes.flat):
            if index >= len(results):
                ax.set_visible(False)
                continue
            result = results[index]
            _draw_curve(ax, result.comparison.needled, NEEDLED, "needled at visit 1")
            _draw_curve(ax, result.comparison.comparison, OTHER, "not needled at visit 1")
            ax.set_title(_short(result.condition_label), fontsize=8, color=INK)
            ax.set_ylim(0, 1.02)
            ax.axhline(0.5, color=LINE, linewidth=0.6)
            ax.grid(color=LINE, linewidth=0.4)
            if not (result.comparison.needled.enough_data or result.comparison.comparison.enough_data):
                ax.text(0.5, 0.5, "not enough data", transform=ax.transAxes, ha="center", fontsize=7, color=MUTED)
            if index == 0:
                ax.legend(fontsize=6, frameon=False, loc="upper right")
        fig.supxlabel("Days since the episode opened", fontsize=8, color=MUTED)
        fig.supylabel("Share still in care without goals met", fontsize=8, color=MUTED)
        height = fig.get_figheight()  # margins in inches: the title above, the shared axis label below
        fig.subplots_adjust(
            left=0.09, right=0.98, top=1 - 0.45 / height, bottom=0.55 / height, hspace=0.45, wspace=0.15
        )
        fig.text(
            0.02,
            0.985,
            "Time to discharge with goals met (Kaplan-Meier, 95% bands; not randomised)",
            fontsize=9,
            va="top",
        )


def recovery_svg(report: ClaimsReport) -> str:
    """The Kaplan-Meier curves as inline SVG ('' when there is nothing to plot)."""
    if not report.recovery:
        return ""
    count = min(len(report.recovery), MAX_CONDITIONS)
    rows = -(-count // (3 if count > 4 else max(1, min(2, count))))
    fig = _new_figure(7.5, 0.8 + 1.9 * rows)
    draw_recovery(fig, report)
    return svg_of(fig, "Time to discharge with goals met, needled against not needled, by condition")


# ---------------------------------------------------------------------------------------------------- adverse events


def draw_events(fig: Figure, report: ClaimsReport) -> None:
    """Mild adverse events per 1,000 needled visits by type (95% exact intervals), beside Brady and Boyce."""
    rows = [row for row in report.event_rates if row.severity == "mild" and row.event_type != "any"][:10]
    with matplotlib.rc_context(STYLE):
        ax = fig.add_axes((0.3, 0.15, 0.66, 0.72))
        ticks = []
        for index, row in enumerate(rows):
            y = -index
            bar = _bar(row.rate.per_1000, row.rate.low, row.rate.high)
            if row.rate.enough_data and bar is not None:
                ax.errorbar(
                    bar[0],
                    y,
                    xerr=[[bar[1]], [bar[2]]],
                    fmt="o",
                    color=NEEDLED,
                    markersize=4,
                    capsize=2,
                    linewidth=1,
                )
            for published in row.published:
                ax.plot(published.per_1000, y, marker="|", markersize=9, color=PUBLISHED)
                ax.text(published.per_1000, y + 0.22, published.study[:5].title(), fontsize=5, color=MUTED)
            ticks.append((y, row.event_type.replace("_", " ")))
        ax.set_yticks([y for y, _ in ticks], [text for _, text in ticks], fontsize=7)
        ax.set_xlabel("Mild events per 1,000 needled visits (circle: this clinic; bar: published)")
        ax.grid(axis="x", color=LINE, linewidth=0.6)
        fig.text(0.02, 0.985, "Adverse events beside Brady 2014 and Boyce 2020", fontsize=9, color=INK, va="top")


def events_svg(report: ClaimsReport) -> str:
    """The adverse-event rates as inline SVG ('' when no needled visit was recorded)."""
    if not report.needled_visits:
        return ""
    rows = [row for row in report.event_rates if row.severity == "mild" and row.event_type != "any"][:10]
    fig = _new_figure(7.5, 1.0 + 0.3 * max(1, len(rows)))
    draw_events(fig, report)
    return svg_of(fig, "Mild adverse events per 1,000 needled visits beside published rates")
