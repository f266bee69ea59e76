"""The benefit-claims report as a printed document: the same report object as the page (verdicts in plain
words with n and confidence intervals, the plots, the tables, the method and its limits), laid out by one HTML
template (documents/claims_report.html) and rendered to PDF by WeasyPrint like every other printed document,
with the page's plots embedded as SVG.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from needlepoint.accounts.models import Clinic
from needlepoint.insights import formatting, plots
from needlepoint.insights.report import ClaimsReport
from needlepoint.printing import chart_image, letterhead, render_pdf


@dataclass
class Paragraph:
    """One line or paragraph of the document, with its look: ``kind`` is a CSS class (lead, bold, reason,
    detail, definition, source, row, muted)."""

    text: str
    kind: str = ""


@dataclass
class Section:
    """A heading and its paragraphs."""

    heading: str
    paragraphs: list[Paragraph] = field(default_factory=list)

    def add(self, text: str, kind: str = "") -> None:
        """Append a paragraph."""
        self.paragraphs.append(Paragraph(text, kind))


def claims_pdf(report: ClaimsReport, clinic: Clinic) -> bytes:
    """The whole claims report as PDF bytes, on ``clinic``'s letterhead."""
    return render_pdf("documents/claims_report.html", claims_document(report, clinic))


def claims_document(report: ClaimsReport, clinic: Clinic) -> dict[str, object]:
    """What the printed claims report says, section by section, and its plots as images."""
    stamp = (
        timezone.localtime(report.summary_as_of).strftime(" (summary of %Y-%m-%d %H:%M %Z)")
        if report.summary_as_of
        else " (live)"
    )
    charts = []
    if report.episodes:
        for svg in (
            plots.relief_svg(report),
            plots.change_svg(report),
            plots.recovery_svg(report),
            plots.events_svg(report),
        ):
            charts.append(chart_image(svg))
    return {
        "letterhead": letterhead(clinic),
        "footer": f"{report.clinic_name} · claims report as of {report.as_of.isoformat()}{stamp} · Needlepoint",
        "title": "What the clinic's own data show about three claims",
        "cover": _cover(report),
        "verdicts": _verdicts(report),
        "charts": charts,
        "tables": _tables(report),
        "method": _method(report),
    }


def _cover(report: ClaimsReport) -> list[Paragraph]:
    paragraphs = [
        Paragraph(
            f"Covering {report.filters.describe()}; {report.episodes:,} episodes of care ({report.needled_episodes:,} "
            f"with needling), {report.needled_visits:,} needled visits; as of {report.as_of.isoformat()}."
        ),
        Paragraph(report.source_note, "bold" if report.source == "summary" else ""),
        Paragraph(f"Responder rule: {report.rule_note}"),
    ]
    policy = "intention to treat" if report.options.missing == "itt" else "completers only"
    paragraphs.append(
        Paragraph(
            f"Missing follow-up: {policy}. Claims are judged only on groups of at least {report.claims_minimum_n} "
            f"episodes; breakdowns withhold groups under {report.options.minimum_n}."
        )
    )
    paragraphs.append(
        Paragraph(
            "Each claim is judged per condition as consistent with the claim, not consistent with the claim, or "
            "not enough data, from the clinic's records only, with the n and the 95% confidence interval of every "
            "figure. These are observations from routine care, not a trial: they describe what happened to this "
            "clinic's patients and cannot show that needling caused it."
        )
    )
    if not report.enough_episodes:
        paragraphs.append(Paragraph("Not enough data: no episode of care matches these filters.", "bold"))
    return paragraphs


def _verdicts(report: ClaimsReport) -> list[Section]:
    sections = []
    for condition in report.verdicts:
        section = Section(condition.label)
        for verdict in condition.verdicts:
            title = formatting.CLAIM_TITLES[verdict.claim]
            section.add(f"{title}: {formatting.STATUS_WORDS[verdict.status]}", "bold")
            section.add(verdict.headline, "lead")
            section.add(verdict.reason, "reason")
            for detail in verdict.details:
                section.add(f"• {detail}", "detail")
            section.add(f"Definition: {verdict.definition}", "definition")
            section.add(f"Published trial evidence: {verdict.published.summary}", "definition")
            sources = "; ".join(f"{source.citation} [{source.key}]" for source in verdict.published.sources)
            section.add(sources, "source")
        sections.append(section)
    return sections


def _tables(report: ClaimsReport) -> list[Section]:
    measures = Section("Outcomes per condition and measure")
    for row in report.measures:
        measures.add(
            f"{row.group}, {row.cohort}, {row.instrument}: baseline {formatting.mean(row.baseline)}; final "
            f"{formatting.mean(row.final)}; change {formatting.mean(row.change)}; responders "
            f"{formatting.share(row.responders)}.",
            "row",
        )
    relief = Section("Relief within the first treatment or two")
    relief.add(report.definitions.get("relief", ""), "muted")
    for result in report.relief:
        relief.add(
            f"{result.condition_label}, {result.cohort} at the first visit: before visit 3 (pre-specified) "
            f"{formatting.share(result.before_visit_3)}; before visit 2 {formatting.share(result.before_visit_2)}; "
            f"immediate, end of visit 1, clinician-recorded {formatting.share(result.immediate)}.",
            "row",
        )
    return [measures, relief, _rom(report), _recovery(report), *_rates(report)]


def _rom(report: ClaimsReport) -> Section:
    section = Section("Range of motion gained")
    section.add(report.definitions.get("rom", ""), "muted")
    for row in report.rom:
        mdc = f"MDC {row.mdc:g}°" if row.mdc is not None else "no MDC sourced"
        section.add(
            f"{row.condition_label}, {row.cohort}, {row.label} ({row.episodes} episodes of {row.patients} "
            f"patients): {formatting.mean(row.degrees, '°')}; "
            f"percent of normal {formatting.mean(row.percent_of_normal, ' %-points')}; beyond the MDC "
            f"({mdc}) {formatting.share(row.beyond_mdc)}.",
            "row",
        )
    return section


def _recovery(report: ClaimsReport) -> Section:
    section = Section("Time to discharge with goals met")
    section.add(report.definitions.get("recovery", ""), "muted")
    for result in report.recovery:
        comparison = result.comparison
        ratio = comparison.hazard_ratio
        hr = (
            f"hazard ratio {ratio.value:.2f} (95% CI {ratio.low:.2f} to {ratio.high:.2f})"
            if ratio.enough_data
            else ratio.reason
        )
        section.add(
            f"{result.condition_label}: needled at the first visit median {formatting.days(comparison.needled.median)} "
            f"days (n = {comparison.needled.n}); not needled at it median "
            f"{formatting.days(comparison.comparison.median)} days "
            f"(n = {comparison.comparison.n}); {hr}.",
            "row",
        )
    if report.recovery:
        section.add(report.recovery[0].comparison.caveats[0], "muted")
    return section


def _rates(report: ClaimsReport) -> list[Section]:
    events = Section("Adverse events per 1,000 needled visits")
    for row in report.event_rates:
        published = "; ".join(f"{item.study}: {item.per_1000:g} ({item.reported})" for item in row.published)
        events.add(
            f"{row.event_type.replace('_', ' ')} ({row.severity}): {formatting.rate(row.rate)}"
            + (f". Published: {published}" if published else ""),
            "row",
        )
    clinicians = Section(f"Per clinician (groups under {report.options.minimum_n} withheld)")
    for clinician in report.clinicians:
        episodes = clinician.episode_suppression.marker or formatting.share(clinician.responders)
        visits = clinician.visit_suppression.marker or formatting.rate(clinician.events_per_1000)
        clinicians.add(f"{clinician.label}: pain responders {episodes}; adverse events {visits}.", "row")
    techniques = Section("Per technique")
    for technique in report.techniques:
        visits = technique.visit_suppression.marker or (
            f"{formatting.rate(technique.events_per_1000)}; "
            f"relief within the session {formatting.share(technique.session_relief)}"
        )
        techniques.add(f"{technique.label}: adverse events {visits}.", "row")
    return [events, clinicians, techniques]


def _method(report: ClaimsReport) -> list[Section]:
    sections = []
    for heading, lines in (
        ("Method", report.method),
        ("Definitions", list(report.definitions.values())),
        ("Limits", report.limits),
    ):
        section = Section(heading)
        for line in lines:
            section.add(f"• {line}", "row")
        sections.append(section)
    return sections
