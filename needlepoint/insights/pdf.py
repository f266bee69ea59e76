"""The benefit-claims report as a PDF, drawn with matplotlib's PdfPages (no browser, no system libraries).

The same report object as the page: verdicts in plain words with n and confidence intervals, the plots, the
tables, and the method and its limits. Text flows onto as many A4 pages as it needs.
"""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING

from matplotlib.backends.backend_pdf import PdfPages

from needlepoint.insights import formatting, plots
from needlepoint.insights.report import ClaimsReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PAGE = (8.27, 11.69)  # A4 portrait, inches
MARGIN = 0.6
LINE_HEIGHT = 1.38


class _TextPages:
    """Writes wrapped paragraphs down A4 pages, starting a new page when one is full."""

    def __init__(self, pdf: PdfPages, footer: str) -> None:
        self.pdf = pdf
        self.footer = footer
        self.figure: Figure | None = None
        self.y = 0.0
        self.page_number = 0

    def _new_page(self) -> Figure:
        self.close()
        self.figure = plots._new_figure(*PAGE)
        self.page_number += 1
        self.y = MARGIN
        return self.figure

    def close(self) -> None:
        """Finish the page being written, with its footer."""
        if self.figure is not None:
            self.figure.text(
                MARGIN / PAGE[0],
                0.3 / PAGE[1],
                f"{self.footer} · page {self.page_number}",
                fontsize=6.5,
                color=plots.MUTED,
            )
            self.pdf.savefig(self.figure)
            self.figure = None

    def paragraph(
        self,
        text: str,
        size: float = 8.5,
        weight: str = "normal",
        colour: str = plots.INK,
        gap: float = 0.06,
        indent: float = 0.0,
    ) -> None:
        """Write ``text`` wrapped to the page width."""
        width = int((PAGE[0] - 2 * MARGIN - indent) * 72 / (size * 0.52))
        lines = textwrap.wrap(text, width=width) or [""]
        for line in lines:
            figure = self.figure
            if figure is None or self.y + size / 72 * LINE_HEIGHT > PAGE[1] - MARGIN - 0.3:
                figure = self._new_page()
            self.y += size / 72 * LINE_HEIGHT
            figure.text(
                (MARGIN + indent) / PAGE[0],
                1 - self.y / PAGE[1],
                line,
                fontsize=size,
                fontweight=weight,
                color=colour,
                family="DejaVu Sans",
            )
        self.y += gap

    def space(self, inches: float) -> None:
        """Leave a gap."""
        self.y += inches


def claims_pdf(report: ClaimsReport) -> bytes:
    """The whole claims report as PDF bytes."""
    buffer = io.BytesIO()
    stamp = report.summary_as_of.strftime(" (summary of %Y-%m-%d %H:%M)") if report.summary_as_of else " (live)"
    footer = f"{report.clinic_name} · claims report as of {report.as_of.isoformat()}{stamp} · Needlepoint"
    with PdfPages(buffer, metadata={"Title": "Benefit-claims report", "Creator": "Needlepoint"}) as pdf:
        pages = _TextPages(pdf, footer)
        _cover(pages, report)
        _verdicts(pages, report)
        pages.close()
        for draw in (plots.draw_relief, plots.draw_change, plots.draw_recovery, plots.draw_events):
            if report.episodes:
                figure = plots._new_figure(PAGE[0], 6.0 if draw is not plots.draw_recovery else 8.0)
                draw(figure, report)
                pdf.savefig(figure)
        pages = _TextPages(pdf, footer)
        _tables(pages, report)
        _method(pages, report)
        pages.close()
    return buffer.getvalue()


def _cover(pages: _TextPages, report: ClaimsReport) -> None:
    pages.paragraph(report.clinic_name, size=9, colour=plots.MUTED, gap=0)
    pages.paragraph("What the clinic's own data show about three claims", size=15, weight="bold")
    pages.paragraph(
        f"Covering {report.filters.describe()}; {report.episodes:,} episodes of care ({report.needled_episodes:,} "
        f"with needling), {report.needled_visits:,} needled visits; as of {report.as_of.isoformat()}.",
    )
    pages.paragraph(report.source_note, weight="bold" if report.source == "summary" else "normal")
    pages.paragraph(f"Responder rule: {report.rule_note}")
    policy = "intention to treat" if report.options.missing == "itt" else "completers only"
    pages.paragraph(
        f"Missing follow-up: {policy}. Claims are judged only on groups of at least {report.claims_minimum_n} "
        f"episodes; breakdowns withhold groups under {report.options.minimum_n}."
    )
    pages.paragraph(
        "Each claim is judged per condition as consistent with the claim, not consistent with the claim, or not "
        "enough data, from the clinic's records only, with the n and the 95% confidence interval of every figure. "
        "These are observations from routine care, not a trial: they describe what happened to this clinic's "
        "patients and cannot show that needling caused it.",
    )
    if not report.enough_episodes:
        pages.paragraph("Not enough data: no episode of care matches these filters.", weight="bold")


def _verdicts(pages: _TextPages, report: ClaimsReport) -> None:
    for condition in report.verdicts:
        pages.space(0.08)
        pages.paragraph(condition.label, size=11, weight="bold")
        for verdict in condition.verdicts:
            title = formatting.CLAIM_TITLES[verdict.claim]
            pages.paragraph(f"{title}: {formatting.STATUS_WORDS[verdict.status]}", weight="bold", gap=0.02)
            pages.paragraph(verdict.headline, indent=0.15, gap=0.02)
            pages.paragraph(verdict.reason, size=7.5, weight="bold", indent=0.15, gap=0.02)
            for detail in verdict.details:
                pages.paragraph(f"• {detail}", size=7.5, indent=0.25, gap=0.0)
            pages.paragraph(f"Definition: {verdict.definition}", size=7, indent=0.25, gap=0.0)
            pages.paragraph(f"Published trial evidence: {verdict.published.summary}", size=7, indent=0.25, gap=0.0)
            sources = "; ".join(f"{source.citation} [{source.key}]" for source in verdict.published.sources)
            pages.paragraph(sources, size=6.5, colour=plots.MUTED, indent=0.25)


def _tables(pages: _TextPages, report: ClaimsReport) -> None:
    pages.paragraph("Outcomes per condition and measure", size=11, weight="bold")
    for row in report.measures:
        pages.paragraph(
            f"{row.group}, {row.cohort}, {row.instrument}: baseline {formatting.mean(row.baseline)}; final "
            f"{formatting.mean(row.final)}; change {formatting.mean(row.change)}; responders "
            f"{formatting.share(row.responders)}.",
            size=7.5,
            gap=0.02,
        )
    pages.space(0.1)
    pages.paragraph("Relief within the first treatment or two", size=11, weight="bold")
    pages.paragraph(report.definitions.get("relief", ""), size=7, colour=plots.MUTED)
    for relief in report.relief:
        pages.paragraph(
            f"{relief.condition_label}, {relief.cohort} at the first visit: before visit 3 (pre-specified) "
            f"{formatting.share(relief.before_visit_3)}; before visit 2 {formatting.share(relief.before_visit_2)}; "
            f"immediate, end of visit 1, clinician-recorded {formatting.share(relief.immediate)}.",
            size=7.5,
            gap=0.02,
        )
    pages.space(0.1)
    pages.paragraph("Range of motion gained", size=11, weight="bold")
    pages.paragraph(report.definitions.get("rom", ""), size=7, colour=plots.MUTED)
    for rom in report.rom:
        mdc = f"MDC {rom.mdc:g}°" if rom.mdc is not None else "no MDC sourced"
        pages.paragraph(
            f"{rom.condition_label}, {rom.cohort}, {rom.label} ({rom.episodes} episodes of {rom.patients} "
            f"patients): {formatting.mean(rom.degrees, '°')}; "
            f"percent of normal {formatting.mean(rom.percent_of_normal, ' %-points')}; beyond the MDC "
            f"({mdc}) {formatting.share(rom.beyond_mdc)}.",
            size=7.5,
            gap=0.02,
        )
    pages.space(0.1)
    pages.paragraph("Time to discharge with goals met", size=11, weight="bold")
    pages.paragraph(report.definitions.get("recovery", ""), size=7, colour=plots.MUTED)
    for result in report.recovery:
        comparison = result.comparison
        ratio = comparison.hazard_ratio
        hr = (
            f"hazard ratio {ratio.value:.2f} (95% CI {ratio.low:.2f} to {ratio.high:.2f})"
            if ratio.enough_data
            else ratio.reason
        )
        pages.paragraph(
            f"{result.condition_label}: needled at the first visit median {formatting.days(comparison.needled.median)} "
            f"days (n = {comparison.needled.n}); not needled at it median "
            f"{formatting.days(comparison.comparison.median)} days "
            f"(n = {comparison.comparison.n}); {hr}.",
            size=7.5,
            gap=0.02,
        )
    pages.paragraph(report.recovery[0].comparison.caveats[0] if report.recovery else "", size=7, colour=plots.MUTED)
    pages.space(0.1)
    pages.paragraph("Adverse events per 1,000 needled visits", size=11, weight="bold")
    for event in report.event_rates:
        published = "; ".join(f"{item.study}: {item.per_1000:g} ({item.reported})" for item in event.published)
        pages.paragraph(
            f"{event.event_type.replace('_', ' ')} ({event.severity}): {formatting.rate(event.rate)}"
            + (f". Published: {published}" if published else ""),
            size=7.5,
            gap=0.02,
        )
    pages.space(0.1)
    pages.paragraph(f"Per clinician (groups under {report.options.minimum_n} withheld)", size=11, weight="bold")
    for clinician in report.clinicians:
        episodes = clinician.episode_suppression.marker or formatting.share(clinician.responders)
        visits = clinician.visit_suppression.marker or formatting.rate(clinician.events_per_1000)
        pages.paragraph(f"{clinician.label}: pain responders {episodes}; adverse events {visits}.", size=7.5, gap=0.02)
    pages.paragraph("Per technique", size=11, weight="bold")
    for technique in report.techniques:
        visits = technique.visit_suppression.marker or (
            f"{formatting.rate(technique.events_per_1000)}; "
            f"relief within the session {formatting.share(technique.session_relief)}"
        )
        pages.paragraph(f"{technique.label}: adverse events {visits}.", size=7.5, gap=0.02)


def _method(pages: _TextPages, report: ClaimsReport) -> None:
    pages.space(0.1)
    pages.paragraph("Method", size=11, weight="bold")
    for line in report.method:
        pages.paragraph(f"• {line}", size=7.5, gap=0.02)
    pages.paragraph("Definitions", size=11, weight="bold")
    for line in report.definitions.values():
        pages.paragraph(f"• {line}", size=7.5, gap=0.02)
    pages.paragraph("Limits", size=11, weight="bold")
    for line in report.limits:
        pages.paragraph(f"• {line}", size=7.5, gap=0.02)
