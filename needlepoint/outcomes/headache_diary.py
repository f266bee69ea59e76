"""Reading an episode's headache diary: its 28-day months, headache and acute-medication days, and the responder
status; one function for a page (one episode) and one for reports over many episodes (a fixed number of queries).

Read-only. The arithmetic is the pure ``diary`` module's; this module only fetches the rows it needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Min
from django.utils import timezone

from needlepoint.outcomes import diary
from needlepoint.outcomes.models import HeadacheDiaryEntry, SelfReportLink
from needlepoint.patients.models import Episode


@dataclass
class DiarySummary:
    """An episode's diary as the progress page and reports show it."""

    start: date | None
    periods: list[diary.Period]
    responder: diary.Responder
    recent: list[HeadacheDiaryEntry] = field(default_factory=list)
    links: list[SelfReportLink] = field(default_factory=list)

    @property
    def days_recorded(self) -> int:
        """Days written in the whole diary."""
        return sum(p.recorded_days for p in self.periods)


def _day(entry: HeadacheDiaryEntry) -> diary.DiaryDay:
    return diary.DiaryDay(entry.day, entry.headache, entry.worst_intensity, entry.hours, entry.acute_medication)


def summarise(start: date | None, days: list[diary.DiaryDay], today: date | None = None) -> DiarySummary:
    """Periods and responder status for a diary that began on ``start`` (None: no diary link yet)."""
    if start is None:
        return DiarySummary(None, [], diary.Responder("not_judged", "No headache diary has been started."))
    found = diary.periods(days, start, today or timezone.localdate())
    return DiarySummary(start, found, diary.responder(found))


def episode_diary(episode: Episode, *, recent: int = 14) -> DiarySummary:
    """The episode's diary: its months and responder status, the latest entries and its links (three queries)."""
    links = list(SelfReportLink.objects.filter(episode=episode, kind=SelfReportLink.Kind.DIARY).order_by("created_at"))
    entries = list(HeadacheDiaryEntry.objects.filter(episode=episode).order_by("day"))
    start = timezone.localdate(links[0].created_at) if links else None
    summary = summarise(start, [_day(e) for e in entries])
    summary.recent = entries[-recent:][::-1]
    summary.links = links[::-1]
    return summary


def diary_responders(episodes: Iterable[Episode], today: date | None = None) -> dict[int, DiarySummary]:
    """For reports (the claims report's headache conditions): each episode's diary summary, by episode id.

    Two queries whatever the number of episodes. Episodes of conditions without a diary are left out; an episode
    with a diary link but too few days recorded is present with a 'not_judged' responder and its reason.
    """
    ids = [e.pk for e in episodes if diary.keeps_diary(e.condition)]
    if not ids:
        return {}
    starts = dict(
        SelfReportLink.objects.filter(episode_id__in=ids, kind=SelfReportLink.Kind.DIARY)
        .values("episode_id")
        .annotate(first=Min("created_at"))
        .values_list("episode_id", "first")
    )
    days: dict[int, list[diary.DiaryDay]] = defaultdict(list)
    # Plain tuples of the columns the counts need, not model instances: a report reads every day of every diary.
    rows = HeadacheDiaryEntry.objects.filter(episode_id__in=ids).values_list(
        "episode_id", "day", "headache", "acute_medication"
    )
    for episode_id, day, headache, medication in rows.iterator(chunk_size=5000):
        days[episode_id].append(diary.DiaryDay(day, headache, None, None, medication))
    return {
        pk: summarise(timezone.localdate(starts[pk]) if pk in starts else None, days.get(pk, []), today) for pk in ids
    }
