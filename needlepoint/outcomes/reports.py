"""The one-page progress report as PDF, drawn with matplotlib (no browser or system libraries): plain words for
the patient, a clinical summary with sources for the referring doctor. Same plots as the progress page.
"""

from __future__ import annotations

import io
import textwrap
from datetime import datetime

from django.utils import timezone

from needlepoint.outcomes import plots
from needlepoint.outcomes.progress import Progress, Series, short, signed

AUDIENCES = {"patient": "for the patient", "doctor": "for the referring doctor"}
PAGE_WIDTH, PAGE_HEIGHT = 8.27, 11.69  # A4, inches
MARGIN = 0.6
WRAP = 108
MAX_SERIES_PLOTS = 2
MAX_ROM_ROWS = 6
AXES_GAP = 0.72  # inches below a plot: tick labels, the date axis offset, and the next plot's legend


class _Page:
    """A cursor down one A4 page, in inches from the top."""

    def __init__(self) -> None:
        self.fig = plots.Figure(figsize=(PAGE_WIDTH, PAGE_HEIGHT))
        self.y = MARGIN

    def room(self) -> float:
        """Inches left above the footer."""
        return PAGE_HEIGHT - MARGIN - 0.4 - self.y

    def text(self, text: str, size: float = 8.5, weight: str = "normal", color: str = plots.INK, gap: float = 0.05):
        """Write ``text`` wrapped to the page width at the cursor, then move the cursor below it."""
        lines = []
        for paragraph in text.split("\n"):
            lines.extend(textwrap.wrap(paragraph, width=int(WRAP * 8.5 / size)) or [""])
        for line in lines:
            self.fig.text(
                MARGIN / PAGE_WIDTH,
                1 - (self.y + size / 72) / PAGE_HEIGHT,
                line,
                fontsize=size,
                fontweight=weight,
                color=color,
                family="DejaVu Sans",
            )
            self.y += size / 72 * 1.35
        self.y += gap

    def axes(self, height: float, left: float = 0.9):
        """New axes ``height`` inches tall at the cursor, then move the cursor below them."""
        bottom = 1 - (self.y + height) / PAGE_HEIGHT
        ax = self.fig.add_axes(
            (left / PAGE_WIDTH, bottom, (PAGE_WIDTH - left - MARGIN) / PAGE_WIDTH, height / PAGE_HEIGHT)
        )
        self.y += height + AXES_GAP
        return ax


def _fmt(value: float | None, unit: str = "") -> str:
    return "—" if value is None else short(value) + unit


def _series_line_patient(series: Series) -> str:
    defn, change = series.defn, series.change
    better = "lower" if defn.direction == "higher_is_worse" else "higher"
    if series.baseline is None or change is None:
        latest = series.latest
        return f"{defn.name}: {_fmt(latest.value) if latest else 'not answered yet'} ({better} is better)."
    text = (
        f"{defn.name}: {_fmt(change.baseline)} at the start, {_fmt(change.current)} on "
        f"{series.latest.observed_on:%d %b %Y} ({better} is better). "  # type: ignore[union-attr]
    )
    if change.is_responder:
        return text + "This is a clinically important improvement."
    if change.improved:
        return text + "This is an improvement, not yet as large as a clinically important change."
    return text + "No improvement yet."


def _series_line_doctor(series: Series) -> str:
    defn, change = series.defn, series.change
    if series.baseline is None or change is None:
        latest = series.latest
        now = f"latest {_fmt(latest.value)} ({latest.observed_on:%Y-%m-%d})" if latest else "no observations"
        return f"{defn.code} ({defn.unit}): {now}; {series.note or 'no change computed'}"
    rule = change.responder_rule
    rule_text = f"MCID {rule.value:g} {rule.unit} [{rule.source.split(' ')[0]}]" if rule else "no MCID"
    percent = f", {change.percent:+.1f} %" if change.percent is not None else ""
    mdc = {True: "beyond MDC", False: "within MDC", None: "no MDC"}[change.beyond_mdc]
    responder = {True: "responder", False: "not a responder", None: "responder status not judged"}[change.is_responder]
    baseline, latest = series.baseline, series.latest
    assert baseline is not None and latest is not None  # a change needs both
    return (
        f"{defn.code} ({defn.unit}): baseline {_fmt(change.baseline)} ({baseline.observed_on:%Y-%m-%d}) → "
        f"{_fmt(change.current)} ({latest.observed_on:%Y-%m-%d}, {latest.time_point_label.lower()}, "
        f"{latest.source_label.lower()}); change {signed(change.points)} points{percent}; {rule_text}; "
        f"{responder}; {mdc}."
    )


def _pain_line(progress: Progress, audience: str) -> str:
    pain = progress.pain
    if not pain.visits:
        return "No visits recorded yet." if audience == "doctor" else ""
    parts = []
    threshold = f"{pain.mcid.value:g}" if pain.mcid else "2"
    if pain.change is not None:
        if audience == "patient":
            parts.append(
                f"Pain before treatment: {_fmt(pain.change.baseline)} out of 10 at the first visit, "
                f"{_fmt(pain.change.current)} at the latest."
            )
        else:
            responder = "responder" if pain.change.is_responder else "not a responder"
            parts.append(
                f"NPRS before treatment: {_fmt(pain.change.baseline)} at visit 1 → {_fmt(pain.change.current)} at "
                f"visit {len(pain.visits)}; change {signed(pain.change.points)} points "
                f"({responder}, MCID {threshold} points)."
            )
    if pain.mean_relief is not None:
        if audience == "patient":
            parts.append(f"On average pain eased by {_fmt(pain.mean_relief)} points during a visit.")
        else:
            first = f"first at visit {pain.first_relief_visit}" if pain.first_relief_visit else "not yet reached"
            parts.append(
                f"Mean within-visit relief {_fmt(pain.mean_relief)} points; relief ≥ {threshold} points {first}."
            )
    return " ".join(parts)


def _rom_lines(progress: Progress, audience: str) -> list[str]:
    lines = []
    for row in progress.rom[:MAX_ROM_ROWS]:
        side = f" ({row.side})" if row.side else ""
        percent = row.latest.percent_of_normal
        normal = f", {percent:.0f} % of normal {row.normal:g}°" if percent is not None else f", normal {row.normal:g}°"
        text = f"{row.label}{side}: {row.latest.degrees:g}°{normal}"
        if row.change is not None:
            text += f"; {row.change_text} since {row.first.observed_on:%d %b}"
            if audience == "doctor":
                verdict = {True: "beyond", False: "within"}.get(row.change.beyond_mdc)  # type: ignore[arg-type]
                mdc = f"{verdict} the MDC of {row.change.mdc:g}°" if verdict else "no MDC sourced"
                text += f" ({row.method}; {mdc})"
        lines.append(text + ".")
    return lines


def progress_pdf(progress: Progress, audience: str, clinic_name: str, now: datetime | None = None) -> bytes:
    """The one-page PDF progress report for ``audience`` ('patient' or 'doctor')."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
    with plots.matplotlib.rc_context(plots.STYLE):
        return _draw(progress, audience, clinic_name, timezone.localtime(now or timezone.now()))


def _draw(progress: Progress, audience: str, clinic_name: str, now: datetime) -> bytes:
    episode, patient = progress.episode, progress.episode.patient
    page = _Page()
    page.text(clinic_name, size=9, color=plots.MUTED, gap=0)
    page.text(f"Progress report {AUDIENCES[audience]}", size=15, weight="bold", gap=0.05)
    if audience == "doctor":
        page.text(
            f"{patient.full_name} · born {patient.date_of_birth:%Y-%m-%d} · MRN {patient.mrn}\n"
            f"{episode.condition_label} ({episode.icd10_code}, {episode.get_side_display().lower()}); onset "
            f"{episode.onset_date:%Y-%m-%d}; episode opened {timezone.localdate(episode.opened_at):%Y-%m-%d}; "
            f"{episode.get_status_display().lower()}"
            + (f" {episode.discharge_date:%Y-%m-%d}" if episode.discharge_date else "")
            + f"; {len(progress.pain.visits)} visits.",
            size=9,
        )
    else:
        page.text(
            f"{patient.full_name} · {episode.condition_label} · since {timezone.localdate(episode.opened_at):%d %B %Y}"
            f" · {len(progress.pain.visits)} visits",
            size=9,
        )
    page.y += 0.1
    page.text("Summary", size=11, weight="bold")
    pain_line = _pain_line(progress, audience)
    if pain_line:
        page.text(pain_line)
    line_for = _series_line_patient if audience == "patient" else _series_line_doctor
    for series in progress.series:
        if series.points:
            page.text(line_for(series))
    for line in _rom_lines(progress, audience):
        page.text(line)
    page.y += 0.1
    page.y += 0.25  # the first plot's legend sits above it
    if progress.pain.visits and page.room() > 1.6 + AXES_GAP:
        plots.draw_pain(page.axes(1.6), progress.pain, progress.pain_points)
    for series in [s for s in progress.series if s.points][:MAX_SERIES_PLOTS]:
        if page.room() > 1.4 + AXES_GAP:
            plots.draw_series(page.axes(1.4), series, title=True)
    rows = progress.rom[:MAX_ROM_ROWS]
    height = 0.3 + 0.26 * len(rows)
    if rows and page.room() > height + 0.5:
        longest = max(len(r.label) + (len(r.side) + 3 if r.side else 0) for r in rows)
        plots.draw_rom(page.axes(height, left=MARGIN + 0.3 + 0.062 * longest), rows)
    footer = (
        "Scores use each instrument's published scoring and missing-item rules. A responder has improved by at "
        "least the instrument's minimal clinically important difference (MCID) from baseline; the shaded band "
        "runs from the baseline to that MCID."
        if audience == "doctor"
        else "The shaded band shows how much a score needs to change to be a clinically important improvement. "
        "Ask your clinician about anything in this report."
    )
    page.y = PAGE_HEIGHT - MARGIN - 0.45
    page.text(footer, size=7, color=plots.MUTED, gap=0)
    page.text(f"Generated by Needlepoint on {now:%Y-%m-%d %H:%M}.", size=7, color=plots.MUTED, gap=0)
    buffer = io.BytesIO()
    page.fig.savefig(
        buffer, format="pdf", metadata={"Title": f"Progress report {AUDIENCES[audience]}", "Creator": "Needlepoint"}
    )
    return buffer.getvalue()
