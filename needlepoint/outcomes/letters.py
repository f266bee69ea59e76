"""The referral letter to the referring doctor: the patient, the episode with its condition and ICD-10-CM code,
a treatment summary (visits, dates, muscles needled with counts, adverse events), outcomes against each
instrument's MCID, the treating clinician with licence and the clinic's contact details. One template, shown
as a printable page and rendered to PDF. Clinical content: clinicians and clinic admins, never front desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.http import HttpResponse
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.grammar import plural, sentence
from needlepoint.outcomes.progress import Progress, Series, episode_progress, short, signed
from needlepoint.patients.models import Episode
from needlepoint.printing import document_response, letterhead, signatory
from needlepoint.visits.models import Visit
from needlepoint.visits.treatment import treatment_summary

MAX_ADDRESSEE = 300  # characters of the "to" block typed on the page; a postal address fits in far fewer


@dataclass(frozen=True)
class OutcomeRow:
    """One instrument as the letter's outcome table shows it."""

    name: str
    baseline: str
    latest: str
    change: str
    mcid: str
    verdict: str


def mcid_text(series: Series) -> str:
    """The instrument's MCID as printed: "10 points" or "30 % from baseline", or that none is sourced."""
    rule = series.change.responder_rule if series.change else series.mcid
    if rule is None:
        return "none sourced"
    return f"{rule.value:g} points" if rule.unit == "points" else f"{rule.value:g} % from baseline"


def outcome_rows(progress: Progress) -> list[OutcomeRow]:
    """The outcome table: each instrument with observations, baseline to latest, against its MCID."""
    rows = []
    for series in progress.series:
        if not series.points:
            continue
        base, latest, change = series.baseline, series.latest, series.change
        rows.append(
            OutcomeRow(
                name=f"{series.defn.name} ({series.defn.unit})",
                baseline=f"{short(base.value)} ({base.observed_on:%d %b %Y})" if base else "not recorded",
                latest=f"{short(latest.value)} ({latest.observed_on:%d %b %Y})" if latest and change else "—",
                change=signed(change.points) if change else "—",
                mcid=mcid_text(series),
                verdict=_verdict(series),
            )
        )
    return rows


def _verdict(series: Series) -> str:
    change = series.change
    if change is None:
        return series.note or "Not judged."
    if change.is_responder is None:
        return "Not judged against an MCID."
    if change.is_responder:
        return "Clinically important improvement (at least the MCID)."
    if change.improved and change.beyond_mdc is False:
        return "Improved, within the MDC (could be measurement error)."
    if change.improved:
        return "Improved, less than the MCID."
    return "No improvement."


def pain_text(progress: Progress) -> str:
    """Pain before treatment from the first to the latest visit, against the NPRS MCID, and relief within visits."""
    pain = progress.pain
    if not pain.visits:
        return ""
    threshold = pain.mcid.value if pain.mcid else 2
    parts = []
    if pain.change is not None:
        verdict = "at least" if pain.change.is_responder else "less than"
        parts.append(
            f"Pain before treatment (NPRS 0-10) went from {short(pain.change.baseline)} at the first visit to "
            f"{short(pain.change.current)} at the latest ({signed(pain.change.points)}; {verdict} the MCID of "
            f"{plural(threshold, 'point')})"
        )
    if pain.mean_relief is not None:
        relief = float(short(pain.mean_relief))
        parts.append(f"Pain eased within a visit by {plural(relief, 'point')} on average")
    return " ".join(sentence(p) for p in parts)


def treating_clinician(episode: Episode) -> Membership:
    """The clinician who signed the episode's latest visit, or who opened the episode."""
    latest = (
        Visit.objects.filter(episode=episode, signed_at__isnull=False)
        .select_related("signed_by__user")
        .order_by("-started_at")
        .first()
    )
    if latest is not None and latest.signed_by is not None:
        return latest.signed_by
    return episode.opened_by


def letter_context(episode: Episode, addressee: str, today: date | None = None) -> dict[str, object]:
    """Everything the referral letter says about ``episode``, addressed to ``addressee`` (lines; may be empty)."""
    progress = episode_progress(episode)
    patient = episode.patient
    lines = [line.strip() for line in addressee[:MAX_ADDRESSEE].splitlines() if line.strip()]
    status = (
        f"discharged on {episode.discharge_date:%d %b %Y}"
        + (f" ({episode.get_discharge_reason_display().lower()})" if episode.discharge_reason else "")
        if episode.discharge_date
        else "still open"
    )
    return {
        "letterhead": letterhead(episode.clinic),
        "episode": episode,
        "patient": patient,
        "today": today or timezone.localdate(),
        "addressee": lines,
        "salutation": f"Dear {lines[0]}," if lines else "Dear Doctor,",
        "episode_text": sentence(
            f"The episode of care for {episode.condition_label.lower()} ({episode.get_side_display().lower()}), "
            f"ICD-10-CM {episode.icd10_code}, with onset on {episode.onset_date:%d %b %Y}, opened on "
            f"{timezone.localdate(episode.opened_at):%d %b %Y} and is {status}"
        ),
        "treatment": treatment_summary(episode),
        "pain_text": pain_text(progress),
        "outcomes": outcome_rows(progress),
        "clinician": signatory(treating_clinician(episode)),
        "footer": f"{patient.full_name} · MRN {patient.mrn} · referral letter",
    }


def _episode(request: ClinicRequest, patient_id: int, episode_id: int, summary: str) -> Episode:
    return get_record(
        member(request),
        Episode.objects.select_related("patient", "clinic", "opened_by__user"),
        episode_id,
        Capability.VIEW_CLINICAL,
        patient_id=patient_id,
        summary=summary,
    )


def referral_letter(request: ClinicRequest, patient_id: int, episode_id: int) -> HttpResponse:
    """The referral letter as a printable page; ``?to=`` names the doctor (one line per printed line)."""
    episode = _episode(request, patient_id, episode_id, "referral letter")
    context = letter_context(episode, request.GET.get("to", ""))
    return document_response(
        request,
        "documents/referral_letter.html",
        context | {"to": request.GET.get("to", "")},
        filename="",
        as_pdf=False,
    )


def referral_letter_pdf(request: ClinicRequest, patient_id: int, episode_id: int) -> HttpResponse:
    """The referral letter as PDF, from the same template as the page."""
    episode = _episode(request, patient_id, episode_id, "referral letter PDF")
    audit.record("export", episode, summary="referral letter PDF")
    context = letter_context(episode, request.GET.get("to", ""))
    name = f"referral-letter-{episode.patient.mrn}-{episode.pk}.pdf"
    return document_response(request, "documents/referral_letter.html", context, filename=name, as_pdf=True)
