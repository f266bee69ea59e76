"""Re-assessment on schedule, from the database: what each episode has due (``due`` holds the rules), the
dashboard's overdue list and completion rates, and ``send_due`` (the ``needlepoint outcomes send-due`` command).

Every list is gathered in a fixed number of queries, whatever the number of episodes: the episodes, their
visits, their answers, the clinics' plans and wordings, and the links still out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from needlepoint import phones
from needlepoint.accounts.access import listed, scoped
from needlepoint.accounts.models import Clinic, Membership
from needlepoint.accounts.roles import Capability
from needlepoint.outcomes import board_cache
from needlepoint.outcomes import due as rules
from needlepoint.outcomes.models import ClinicInstrumentPlan, ClinicInstrumentWording, Observation, SelfReportLink
from needlepoint.outcomes.plans import default_plans, is_self_reportable, schedule_rules
from needlepoint.outcomes.scoring import instrument
from needlepoint.outcomes.wording import has_wording
from needlepoint.patients.models import PATIENT_NAME_FIELDS, Episode, Patient
from needlepoint.scheduling.models import ContactPreference
from needlepoint.visits.dashboard import QUEUE_PAGE_ROWS, shows_own_lists
from needlepoint.visits.models import Visit

LOOK_BACK_DAYS = 90  # the completion rate covers occasions due in the last 90 days
MIN_OCCASIONS = 10  # below this many settled occasions a clinician's rate is "not enough data"
NOT_SENDABLE = "not sendable: measured by the clinician, or no wording in the patient's language"


@dataclass
class EpisodeDue:
    """One episode's schedule today: what is due, what is on a link still out, and its settled occasions."""

    episode: Episode
    clinician_id: int
    due: list[rules.Due]
    out: set[str]
    completion: rules.Completion


@dataclass
class ClinicianRate:
    """A clinician's completion: settled occasions ``n``, ``done`` of them; rate None below MIN_OCCASIONS."""

    name: str
    n: int = 0
    done: int = 0
    enough: bool = field(init=False, default=False)

    @property
    def rate(self) -> float | None:
        return self.done / self.n if self.n >= MIN_OCCASIONS else None

    @property
    def percent(self) -> str:
        return "not enough data" if self.rate is None else f"{self.rate:.0%}"


def _episodes(queryset: Any, today: date) -> list[Episode]:
    """Open episodes, and those discharged within the look-back (their discharge measure and their rate)."""
    since = today - timedelta(days=LOOK_BACK_DAYS)
    # Only the fields the rules read: the patients are fetched afterwards for the rows that name them.
    return list(
        queryset.filter(Q(status=Episode.Status.OPEN) | Q(discharge_date__gte=since))
        .only("pk", "clinic_id", "patient_id", "condition", "opened_at", "status", "discharge_date", "opened_by_id")
        .order_by("pk")
    )


def gather(episodes: list[Episode], today: date) -> list[EpisodeDue]:
    """Each episode's schedule, in five queries for any number of episodes."""
    ids = [e.pk for e in episodes]
    visit_days: dict[int, list[date]] = defaultdict(list)
    last_clinician: dict[int, int] = {}
    for episode_id, day, clinician_id in (
        Visit.objects.filter(episode_id__in=ids)
        .order_by("started_at", "pk")
        .annotate(day=TruncDate("started_at", tzinfo=timezone.get_current_timezone()))
        .values_list("episode_id", "day", "clinician_id")
    ):
        visit_days[episode_id].append(day)
        last_clinician[episode_id] = clinician_id
    answered: dict[int, dict[str, list[date]]] = defaultdict(lambda: defaultdict(list))
    for episode_id, code, day in Observation.objects.filter(episode_id__in=ids).values_list(
        "episode_id", "instrument", "observed_on"
    ):
        answered[episode_id][code].append(day)
    out: dict[int, set[str]] = defaultdict(set)
    for episode_id, codes in SelfReportLink.objects.filter(
        episode_id__in=ids,
        kind=SelfReportLink.Kind.QUESTIONNAIRE,
        used_at__isnull=True,
        cancelled_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).values_list("episode_id", "instruments"):
        out[episode_id].update(codes)
    clinics = {e.clinic_id for e in episodes}
    plans = {(p.clinic_id, p.condition): p for p in ClinicInstrumentPlan.objects.filter(clinic_id__in=clinics)}
    since = today - timedelta(days=LOOK_BACK_DAYS)
    found = []
    for e in episodes:
        plan = plans.get((e.clinic_id, e.condition))
        codes = tuple(plan.instruments) if plan else default_plans().get(e.condition, default_plans()["other"])
        by_code = schedule_rules(codes, plan.schedule if plan else None)
        facts = rules.EpisodeFacts(
            timezone.localtime(e.opened_at).date(),
            tuple(visit_days[e.pk]),
            e.discharge_date if e.status == Episode.Status.DISCHARGED else None,
        )
        due, completion = rules.due_and_settled(by_code, facts, answered[e.pk], today, since)
        found.append(EpisodeDue(e, last_clinician.get(e.pk, e.opened_by_id), due, out[e.pk], completion))
    return found


def _attributed_to(queryset: Any, membership: Membership) -> Any:
    """The episodes a clinician's board covers, chosen in SQL as ``gather`` attributes them: the clinician of
    the latest visit, else (no visit yet) whoever opened the episode. Computing the schedule of only these
    keeps the board's cost to one clinician's caseload, not the whole clinic's."""
    latest = Visit.objects.filter(episode_id=OuterRef("pk")).order_by("-started_at", "-pk").values("clinician_id")
    return queryset.annotate(latest_clinician=Subquery(latest[:1])).filter(
        Q(latest_clinician=membership.pk) | Q(latest_clinician__isnull=True, opened_by_id=membership.pk)
    )


def _names(clinic_id: int) -> dict[int, str]:
    return {
        m.pk: m.user.get_full_name() or m.user.get_username()
        for m in Membership.objects.filter(clinic_id=clinic_id).select_related("user")
    }


def overdue_board(
    membership: Membership,
    today: date | None = None,
    *,
    limit: int,
    what: str,
) -> dict[str, Any]:
    """The re-assessments overdue (the oldest ``limit``, oldest first; recorded in the audit trail as the list
    ``what``) and each clinician's completion rate: the dashboard shows the head of the list, the list's own page
    all that the board keeps.

    A clinician sees their own patients (by the episode's latest visit, else who opened it) and their own rate;
    a clinic admin sees the clinic's. The board is worked out once and kept in the shared cache until a write
    changes its inputs (``board_cache``); each showing reads it, the listed patients and the clinicians' names
    (so a renamed patient or clinician shows at once on the board's own page; the dashboard keeps its rendered lists
    until the clinic's next write, which a renaming is), and records the patients it lists in the audit trail.
    """
    today = today or timezone.localdate()
    board = board_cache.stored_board(membership, today, lambda: _work_out_board(membership, today))
    names = _names(membership.clinic_id)
    rows = board["overdue"][:limit]
    patients = (
        scoped(membership, Patient.objects.all(), Capability.VIEW_CLINICAL)
        .only(*PATIENT_NAME_FIELDS)
        .in_bulk([row["patient_id"] for row in rows])
    )
    shown = [
        {**row, "patient": patients[row["patient_id"]], "clinician": names.get(row["clinician_id"], "")}
        for row in rows
        if row["patient_id"] in patients
    ]
    listed([row["patient"] for row in shown], what)
    rates = [ClinicianRate(names.get(clinician_id, ""), n, done) for clinician_id, n, done in board["rates"]]
    return {
        "reassessments_overdue": shown,
        "reassessments_overdue_count": board["overdue_count"],
        "completion": sorted(rates, key=lambda r: r.name),
        "completion_min": MIN_OCCASIONS,
        "completion_days": LOOK_BACK_DAYS,
    }


def _work_out_board(membership: Membership, today: date) -> dict[str, Any]:
    """The board in plain values (what the cache keeps): the oldest ``QUEUE_PAGE_ROWS`` overdue rows by patient,
    episode and clinician id, how many are overdue in all, and each clinician's settled occasions and done.
    Five queries (``gather``), whatever the number of episodes."""
    # A patient recorded as deceased is never listed as overdue (nobody should be prompted to chase them); their
    # episodes still count in the completion rates. The flag comes in the same query, by a join.
    queryset = scoped(membership, Episode.objects.all(), Capability.VIEW_CLINICAL).annotate(
        patient_deceased=F("patient__deceased")
    )
    if shows_own_lists(membership):
        queryset = _attributed_to(queryset, membership)
    everything = gather(_episodes(queryset, today), today)
    if shows_own_lists(membership):
        everything = [d for d in everything if d.clinician_id == membership.pk]
    overdue: list[dict[str, Any]] = []
    rates: dict[int, list[int]] = {}
    for d in everything:
        late = [x for x in d.due if x.overdue]
        if late and not getattr(d.episode, "patient_deceased", False):
            overdue.append(
                {
                    "patient_id": d.episode.patient_id,
                    "episode_id": d.episode.pk,
                    "instruments": ", ".join(x.instrument for x in late),
                    "due_on": min(x.occasion.due_on for x in late),
                    "time_point": rules.time_point_for(late),
                    "link_out": all(x.instrument in d.out for x in late),
                    "clinician_id": d.clinician_id,
                }
            )
        rate = rates.setdefault(d.clinician_id, [0, 0])
        rate[0] += d.completion.n
        rate[1] += d.completion.done
    overdue.sort(key=lambda row: (row["due_on"], row["episode_id"]))
    return {
        "overdue": overdue[:QUEUE_PAGE_ROWS],
        "overdue_count": len(overdue),
        "rates": [(clinician_id, n, done) for clinician_id, (n, done) in rates.items() if n],
    }


# ---------------------------------------------------------------- send-due


@dataclass(frozen=True)
class SendOutcome:
    """What ``send_due`` did (or, dry, would do) for one episode."""

    clinic: str
    episode_id: int
    patient_id: int
    instruments: tuple[str, ...]
    time_point: str
    status: str  # sent, would send, skipped, already sent, failed
    detail: str


def _sendable(clinic_id: int, code: str, worded: set[tuple[int, str]], language: str = "en") -> bool:
    """A patient can answer it on a phone and has wording in the patient's language: shipped, or in English
    entered by the clinic."""
    return is_self_reportable(instrument(code)) and has_wording(code, language, entered=(clinic_id, code) in worded)


def _channel(patient: Any, wanted: str) -> tuple[str | None, str]:
    """The channel a scheduled link goes by, or None and why not (opted out, no contact)."""
    if wanted == ContactPreference.LinksBy.NONE:
        return None, "opted out of questionnaire links"
    usable_phone = True
    try:
        phones.normalise(patient.phone, getattr(settings, "SMS_DEFAULT_COUNTRY_CODE", ""))
    except phones.PhoneError:
        usable_phone = False
    if wanted in ("either", "email") and patient.email:
        return "email", ""
    if wanted in ("either", "sms") and usable_phone:
        return "sms", ""
    how = {"email": "no e-mail address", "sms": "no usable mobile number"}.get(wanted, "no e-mail or mobile number")
    return None, f"no contact: {how} on record"


def send_due(
    host_base: str, *, clinic_slug: str | None = None, dry_run: bool = False, today: date | None = None
) -> list[SendOutcome]:
    """Send every episode's due questionnaires on one link each, once; list what was sent and skipped.

    Run twice, it sends once: an instrument on a link still open counts as sent (and the send re-checks that
    under the episode's lock). Skipped: patients recorded as deceased, patients who opted out or have no
    contact, and instruments that cannot be sent (measured by the clinician, or wording not shipped and not
    entered by the clinic).
    """
    from needlepoint.outcomes.sending import send_scheduled_link

    today = today or timezone.localdate()
    queryset = Episode.objects.all()
    if clinic_slug:
        queryset = queryset.filter(clinic__slug=clinic_slug)
    pending = gather(_episodes(queryset, today), today)
    worded = set(ClinicInstrumentWording.objects.values_list("clinic_id", "instrument").distinct())
    pending = [d for d in pending if d.due]
    clinic_ids = {d.episode.clinic_id for d in pending}
    memberships = {m.pk: m for m in Membership.objects.filter(clinic_id__in=clinic_ids)}
    patients = Patient.objects.in_bulk([d.episode.patient_id for d in pending])
    slugs = dict(Clinic.objects.filter(pk__in=clinic_ids).values_list("pk", "slug"))
    wanted = dict(ContactPreference.objects.filter(patient_id__in=patients).values_list("patient_id", "links_by"))
    results = []
    for d in pending:
        e = d.episode
        e.patient = patients[e.patient_id]
        send, already = rules.to_send(d.due, d.out)

        def outcome(items: list[rules.Due], status: str, detail: str, e: Episode = e) -> SendOutcome:
            codes = tuple(x.instrument for x in items)
            point = rules.time_point_for(items) or ""
            return SendOutcome(slugs[e.clinic_id], e.pk, e.patient_id, codes, point, status, detail)

        if already:
            results.append(outcome(already, "already sent", "on a link still open"))
        if e.patient.deceased:
            results.append(outcome(send, "skipped", "patient recorded as deceased"))
            continue
        language = e.patient.preferred_language
        blocked = [x for x in send if not _sendable(e.clinic_id, x.instrument, worded, language)]
        if blocked:
            results.append(outcome(blocked, "skipped", NOT_SENDABLE))
        send = [x for x in send if x not in blocked]
        if not send:
            continue
        # No recorded preference: by e-mail or text message (as scheduling.actions.links_by says).
        channel, why = _channel(e.patient, wanted.get(e.patient_id, ContactPreference.LinksBy.EITHER))
        if channel is None:
            results.append(outcome(send, "skipped", why))
            continue
        if dry_run:
            results.append(outcome(send, "would send", f"by {channel}"))
            continue
        sender = memberships[d.clinician_id]
        try:
            codes = [x.instrument for x in send]
            point = rules.time_point_for(send) or "reassessment"
            sent = send_scheduled_link(sender, e, codes, point, channel, host_base)
        except ValidationError as exc:  # one patient's refused or failed send does not stop the others' links
            results.append(outcome(send, "failed", "; ".join(exc.messages)))
            continue
        if sent is None:
            results.append(outcome(send, "already sent", "sent meanwhile by another run"))
        else:
            results.append(outcome(send, "sent", f"by {channel} to {sent.message.sent_to if sent.message else ''}"))
    return results
