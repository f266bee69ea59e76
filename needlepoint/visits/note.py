"""The SOAP note of a visit, written from its structured data plus the clinician's free text.

Pure Python, no Django: the caller passes plain values, so the wording can be read and tested on its own.
The text is fixed on the visit at signing, so a later change here never alters a signed note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


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
            text = f"- {self.message} Precautions: {'; '.join(self.precautions)}."
            if self.note.strip():
                text += f" Note: {self.note.strip()}"
        else:
            text = f"- {self.message} Reason to proceed: {(self.reason or self.note).strip()}"
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


def _pain(value: int | None) -> str:
    return "not recorded" if value is None else f"{value}/10"


def _entry_line(entry: NoteEntry) -> str:
    where = f"{entry.muscle} ({entry.side})"
    if entry.trigger_point:
        where += f", {entry.trigger_point}"
    parts = [f"{entry.needles} needle{'s' if entry.needles != 1 else ''} {entry.size}", entry.technique.lower()]
    if entry.minutes_left_in is not None:
        parts.append(f"left in {entry.minutes_left_in} min")
    parts.append(f"local twitch response: {entry.twitch_response.lower()}")
    line = f"- {where}: {', '.join(parts)}."
    if entry.patient_response.strip():
        line += f" Response: {entry.patient_response.strip()}"
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
        objective.append(f"Needle count: {data.counts}")
    else:
        objective.append("No dry needling.")
    if data.interventions:
        objective.append(f"Other interventions: {', '.join(data.interventions)}.")

    assessment = [f"Pain after treatment: {_pain(data.pain_after)}."]
    if data.pain_before is not None and data.pain_after is not None:
        change = data.pain_after - data.pain_before
        assessment.append(f"Change: {change:+d} points.")
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
        lines += [f"- {text}" for text in data.reminders]
    if data.acknowledgements:
        lines += ["", "Safety warnings acknowledged:"]
        lines += [a.line for a in data.acknowledgements]
    if data.incidents:
        lines += ["", "Needle unaccounted for:"]
        lines += [f"- {text}" for text in data.incidents]
    if data.adverse_events:
        lines += ["", "Adverse events:"]
        lines += [f"- {text}" for text in data.adverse_events]
    return "\n".join(lines).strip() + "\n"
