"""An episode's treatment as a referring doctor reads it: how many visits and when, which muscles were needled
and how often, and adverse events. Read in three queries whatever the number of visits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from needlepoint.grammar import plural
from needlepoint.patients.models import Episode
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit
from needlepoint.visits.muscles import muscle_name
from needlepoint.visits.summary import event_type_label, severity_label


@dataclass(frozen=True)
class MuscleCount:
    """One muscle (and side) needled in the episode: at how many visits, and how many needles in all."""

    muscle: str
    side: str
    visits: int
    needles: int

    @property
    def text(self) -> str:
        """ "Upper trapezius (left): 3 visits, 7 needles"."""
        return f"{self.muscle} ({self.side}): {plural(self.visits, 'visit')}, {plural(self.needles, 'needle')}"


@dataclass(frozen=True)
class TreatmentSummary:
    """What was done in an episode, from its signed visits (unsigned ones are counted apart)."""

    signed_visits: int
    unsigned_visits: int
    first_visit: date | None
    last_visit: date | None
    muscles: list[MuscleCount]
    needled_visits: int
    adverse_events: list[str]

    @property
    def visits_text(self) -> str:
        """ "4 visits from 3 Mar 2026 to 14 Apr 2026" (signed visits), with any unsigned ones named apart."""
        if not self.signed_visits:
            text = "No signed visits yet"
        elif self.first_visit == self.last_visit:
            text = f"{plural(self.signed_visits, 'signed visit')} on {self.first_visit:%d %b %Y}"
        else:
            text = (
                f"{plural(self.signed_visits, 'signed visit')} from {self.first_visit:%d %b %Y} "
                f"to {self.last_visit:%d %b %Y}"
            )
        if self.unsigned_visits:
            text += f" (and {plural(self.unsigned_visits, 'visit')} not yet signed)"
        return text

    @property
    def needling_text(self) -> str:
        """Which muscles were needled, most often first, in one sentence."""
        if not self.muscles:
            return "No dry needling recorded."
        # Semicolons between muscles: each muscle's own text already holds a comma.
        return f"Dry needling at {plural(self.needled_visits, 'visit')}: {'; '.join(m.text for m in self.muscles)}."


def treatment_summary(episode: Episode) -> TreatmentSummary:
    """The treatment summary of ``episode``, from its signed visits."""
    visits = list(Visit.objects.filter(episode=episode).only("pk", "started_at", "signed_at").order_by("started_at"))
    signed = [v for v in visits if v.signed_at is not None]
    signed_ids = {v.pk for v in signed}
    entries = NeedlingEntry.objects.filter(visit__episode=episode, visit_id__in=signed_ids).values_list(
        "visit_id", "muscle_id", "side", "needles"
    )
    at_visits: dict[tuple[str, str], set[int]] = {}
    needles: Counter[tuple[str, str]] = Counter()
    for visit_id, muscle_id, side, count in entries:
        at_visits.setdefault((muscle_id, side), set()).add(visit_id)
        needles[(muscle_id, side)] += count
    muscles = [
        MuscleCount(muscle_name(muscle_id), side, len(ids), needles[(muscle_id, side)])
        for (muscle_id, side), ids in at_visits.items()
    ]
    muscles.sort(key=lambda m: (-m.visits, -m.needles, m.muscle, m.side))
    events = AdverseEvent.objects.filter(visit__episode=episode).order_by("onset_at")
    days = [timezone.localdate(v.started_at) for v in signed]
    return TreatmentSummary(
        signed_visits=len(signed),
        unsigned_visits=len(visits) - len(signed),
        first_visit=days[0] if days else None,
        last_visit=days[-1] if days else None,
        muscles=muscles,
        needled_visits=len({vid for ids in at_visits.values() for vid in ids}),
        adverse_events=[
            f"{event_type_label(e.event_type)} ({severity_label(e.severity).lower()}) on "
            f"{timezone.localtime(e.onset_at):%d %b %Y}"
            for e in events
        ],
    )
