"""The one-page progress report as PDF: plain words for the patient, a clinical summary with sources for the
referring doctor. Both carry the clinic's letterhead, the treating clinician with licence and a treatment
summary, and the same plots as the progress page. One HTML template rendered by WeasyPrint, like every printed
document (``needlepoint.printing``).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from needlepoint.grammar import join_words, plural, sentence
from needlepoint.outcomes import plots
from needlepoint.outcomes.progress import Progress, Series, short, signed
from needlepoint.printing import chart_image, letterhead, render_pdf, signatory
from needlepoint.visits.treatment import treatment_summary

AUDIENCES = {"patient": "for the patient", "doctor": "for the referring doctor"}
MAX_SERIES_PLOTS = 2
MAX_ROM_ROWS = 6


def _lower_first(text: str) -> str:
    """A sentence continued after a semicolon: "Only the baseline so far." → "only the baseline so far."."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _points(value: float) -> str:
    return "point" if abs(value) == 1 else "points"


def _fmt(value: float | None, unit: str = "") -> str:
    return "—" if value is None else short(value) + unit


def _series_line_patient(series: Series) -> str:
    defn, change = series.defn, series.change
    better = "lower" if defn.direction == "higher_is_worse" else "higher"
    latest = series.latest
    if series.baseline is None or change is None or latest is None:
        return f"{defn.name}: {_fmt(latest.value) if latest else 'not answered yet'} ({better} is better)."
    text = (
        f"{defn.name}: {_fmt(change.baseline)} at the start, {_fmt(change.current)} on "
        f"{latest.observed_on:%d %b %Y} ({better} is better). "
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
        return f"{defn.code} ({defn.unit}): {now}; {_lower_first(series.note) or 'no change computed.'}"
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
        f"{latest.source_label.lower()}); change {signed(change.points)} {_points(change.points)}{percent}; "
        f"{rule_text}; "
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
                f"visit {len(pain.visits)}; change {signed(pain.change.points)} "
                f"({responder}, MCID {plural(float(threshold), 'point')})."
            )
    if pain.mean_relief is not None:
        if audience == "patient":
            parts.append(f"On average pain eased by {plural(float(_fmt(pain.mean_relief)), 'point')} during a visit.")
        else:
            first = f"first at visit {pain.first_relief_visit}" if pain.first_relief_visit else "not yet reached"
            parts.append(
                f"Mean within-visit relief {plural(float(_fmt(pain.mean_relief)), 'point')}; "
                f"relief ≥ {plural(float(threshold), 'point')} {first}."
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
                beyond = row.change.beyond_mdc
                verdict = None if beyond is None else ("beyond" if beyond else "within")
                mdc = f"{verdict} the MDC of {row.change.mdc:g}°" if verdict else "no MDC sourced"
                text += f" ({row.method}; {mdc})"
        lines.append(text + ".")
    return lines


def progress_pdf(progress: Progress, audience: str, now: datetime | None = None) -> bytes:
    """The one-page PDF progress report for ``audience`` ('patient' or 'doctor')."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")
    return render_pdf("documents/progress_report.html", report_context(progress, audience, now))


def report_context(progress: Progress, audience: str, now: datetime | None = None) -> dict[str, object]:
    """What the progress report says to ``audience``: letterhead, patient and episode, clinician, treatment
    summary, the summary lines and the plots."""
    from needlepoint.outcomes.letters import treating_clinician

    episode, patient = progress.episode, progress.episode.patient
    treatment = treatment_summary(episode)
    line_for = _series_line_patient if audience == "patient" else _series_line_doctor
    lines = [_pain_line(progress, audience)]
    lines += [line_for(s) for s in progress.series if s.points]
    lines += _rom_lines(progress, audience)
    with plots.matplotlib.rc_context(plots.STYLE):
        charts = [plots.pain_svg(progress.pain, progress.pain_points)]
        charts += [plots.series_svg(s) for s in progress.series if s.points][:MAX_SERIES_PLOTS]
        charts.append(plots.rom_svg(progress.rom[:MAX_ROM_ROWS]))
    opened = timezone.localdate(episode.opened_at)
    status = episode.get_status_display().lower() + (
        f" {episode.discharge_date:%Y-%m-%d}" if episode.discharge_date else ""
    )
    visits = len(progress.pain.visits)
    if audience == "doctor":
        about = [
            f"{patient.full_name} · born {patient.date_of_birth:%Y-%m-%d} · MRN {patient.mrn}",
            f"{episode.condition_label} (ICD-10-CM {episode.icd10_code}, {episode.get_side_display().lower()}); "
            f"onset {episode.onset_date:%Y-%m-%d}; episode opened {opened:%Y-%m-%d}; {status}; "
            f"{plural(visits, 'visit')}.",
        ]
        treated = [sentence(treatment.visits_text), treatment.needling_text]
        treated.append(
            "Adverse events: " + "; ".join(treatment.adverse_events) + "."
            if treatment.adverse_events
            else "No adverse events recorded."
        )
    else:
        about = [
            f"{patient.full_name} · {episode.condition_label} · since {opened:%d %B %Y} · {plural(visits, 'visit')}"
        ]
        muscles = join_words(sorted({m.muscle.lower() for m in treatment.muscles}))
        treated = [f"Muscles treated with dry needling: {muscles}." if muscles else "No dry needling so far."]
    return {
        "letterhead": letterhead(episode.clinic),
        "audience": audience,
        "charts": [chart_image(chart) for chart in charts if chart],
        "title": f"Progress report {AUDIENCES[audience]}",
        "about": about,
        "clinician": signatory(treating_clinician(episode)),
        "treated": treated,
        "lines": [line for line in lines if line],
        "generated": timezone.localtime(now or timezone.now()),
        "footer": f"{patient.full_name} · MRN {patient.mrn} · progress report",
    }
