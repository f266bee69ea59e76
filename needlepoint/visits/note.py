"""The SOAP note of a visit, written from its structured data plus the clinician's free text.

Pure Python, no Django: the caller passes plain values, so the wording can be read and tested on its own.
The text is fixed on the visit at signing, so a later change here never alters a signed note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from needlepoint.grammar import clause, plural, sentence


@dataclass(frozen=True)
class NoteEntry:
    """One needling entry as the note states it."""

    muscle: str
    side: str
    trigger_point: str
    needles: int
    size: str
    technique: str
    twitch_response: str
    minutes_left_in: int | None
    patient_response: str


@dataclass(frozen=True)
class NoteAcknowledgement:
    """A safety warning and how the clinician acknowledged it: the precautions taken and a note, or (in
    acknowledgements made before precautions) a reason to proceed."""

    message: str
    reason: str
    by: str
    precautions: Sequence[str] = ()
    note: str = ""

    @property
    def line(self) -> str:
        """The acknowledgement as the note prints it."""
        if self.precautions:
            text = f"- {sentence(self.message)} Precautions: {'; '.join(clause(p) for p in self.precautions)}."
            if self.note.strip():
                text += f" Note: {clause(self.note)}"
        else:
            text = f"- {sentence(self.message)} Reason to proceed: {clause(self.reason or self.note)}"
        # The acknowledging clinician closes the line, after the clinician's own words without their full stop.
        return f"{text} ({self.by})" if self.by else text


@dataclass(frozen=True)
class NoteInput:
    """Everything the note says, as plain values."""

    date: str
    clinician: str
    condition: str
    pain_before: int | None
    pain_after: int | None
    subjective: str
    interventions: Sequence[str]
    entries: Sequence[NoteEntry]
    counts: str
    assessment: str
    plan: str
    cpt: str
    acknowledgements: Sequence[NoteAcknowledgement] = field(default_factory=tuple)
    reminders: Sequence[str] = field(default_factory=tuple)
    incidents: Sequence[str] = field(default_factory=tuple)
    adverse_events: Sequence[str] = field(default_factory=tuple)
    # In-clinic safety (clinic_safety.py): the patient's position(s) and the clean-technique checklist line.
    positions: Sequence[str] = field(default_factory=tuple)
    clean_technique: str = ""


def _pain(value: int | None) -> str:
    return "not recorded" if value is None else f"{value}/10"


def _entry_line(entry: NoteEntry) -> str:
    where = f"{entry.muscle} ({entry.side})"
    if entry.trigger_point:
        # Labels read "deep: Deep layer." (code, then the atlas's sentence); the note's own colon follows,
        # so the location goes in brackets without its full stop: "deep (Deep layer): 2 needles".
        code, _, location = entry.trigger_point.partition(": ")
        where += f", {clause(code)}" + (f" ({clause(location)})" if location.strip() else "")
    parts = [f"{plural(entry.needles, 'needle')} {entry.size}", entry.technique.lower()]
    if entry.minutes_left_in is not None:
        parts.append(f"left in {entry.minutes_left_in} min")
    parts.append(f"local twitch response: {entry.twitch_response.lower()}")
    line = f"- {where}: {', '.join(parts)}."
    if entry.patient_response.strip():
        line += f" Response: {sentence(entry.patient_response)}"
    return line


def soap_note(data: NoteInput) -> str:
    """The note text: Subjective, Objective, Assessment, Plan, then billing and safety (the reminders
    given, then each warning acknowledged with its precautions)."""
    subjective = [f"Pain before treatment: {_pain(data.pain_before)}."]
    if data.subjective.strip():
        subjective.append(data.subjective.strip())

    objective = []
    if data.entries:
        objective.append("Dry needling (solid filiform needles, nothing injected):")
        objective.extend(_entry_line(e) for e in data.entries)
        objective.append(f"Needle count: {sentence(data.counts)}")
        objective.append(f"Patient position: {', '.join(data.positions).lower() or 'not recorded'}.")
    else:
        objective.append("No dry needling.")
    if data.interventions:
        objective.append(f"Other interventions: {', '.join(data.interventions)}.")

    assessment = [f"Pain after treatment: {_pain(data.pain_after)}."]
    if data.pain_before is not None and data.pain_after is not None:
        change = data.pain_after - data.pain_before
        sign = "+" if change > 0 else "-" if change < 0 else ""
        assessment.append(f"Change: {sign}{plural(abs(change), 'point')}.")
    if data.assessment.strip():
        assessment.append(data.assessment.strip())

    plan = [data.plan.strip() or "No plan recorded."]

    lines = [
        f"Treatment visit {data.date}, {data.clinician}. Episode: {data.condition}.",
        "",
        "S: " + " ".join(subjective[:1]),
        *subjective[1:],
        "",
        "O: " + objective[0],
        *objective[1:],
        "",
        "A: " + " ".join(assessment),
        "",
        "P: " + " ".join(plan),
        "",
        f"CPT: {data.cpt}",
    ]
    if data.reminders:
        lines += ["", "Safety reminders:"]
        lines += [f"- {sentence(text)}" for text in data.reminders]
    if data.acknowledgements:
        lines += ["", "Safety warnings acknowledged:"]
        lines += [a.line for a in data.acknowledgements]
    if data.incidents:
        lines += ["", "Needle unaccounted for:"]
        lines += [f"- {sentence(text)}" for text in data.incidents]
    if data.adverse_events:
        lines += ["", "Adverse events:"]
        lines += [f"- {sentence(text)}" for text in data.adverse_events]
    if data.entries:
        lines += ["", f"Clean technique: {data.clean_technique or 'checklist not recorded.'}"]
    return "\n".join(lines).strip() + "\n"
