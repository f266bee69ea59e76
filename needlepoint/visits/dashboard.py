"""The clinician dashboard's lists. Each is one bounded query on an index, so the page stays fast as
history grows: today's patients, unsigned and overdue visits, adverse events due for follow-up, and
patients whose screening or consent is about to lapse (or has).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, Model, OuterRef, Q
from django.db.models.signals import post_delete, pre_save
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString

from needlepoint.accounts import generations
from needlepoint.accounts.access import listed, scoped
from needlepoint.accounts.models import Membership, member_name_fields
from needlepoint.accounts.roles import Capability, Role
from needlepoint.patients.models import Consent, ConsentText, Episode, Screening, patient_name_fields
from needlepoint.patients.panels import dashboard_panels
from needlepoint.visits.models import OVERDUE_AFTER, AdverseEvent, AfterCareGiven, NeedlingEntry, Visit

LIST_LIMIT = 50
# What the dashboard's visit lists show and count (time, signature, the patient's and clinician's names): the
# notes' texts and the other columns of each visit and patient are left in the database.
VISIT_LIST_FIELDS = (
    "id", "clinic_id", "patient_id", "episode_id", "clinician_id", "started_at", "signed_at", "needles_inserted",
    *patient_name_fields("patient"), *member_name_fields("clinician"),
)  # fmt: skip
# A work queue's head on the dashboard: its oldest rows, with the count and a link to the whole queue. Ten keep
# the cards beside it (adverse events due, needle-stick injuries) on the first screen.
QUEUE_HEAD_ROWS = 10
# The whole queue on its own page (the oldest first), as the list of open adverse events. The stored re-assessment
# board keeps this many rows: a change of it raises outcomes.board_cache.BOARD_FORMAT.
QUEUE_PAGE_ROWS = 200
LAPSE_WARNING_DAYS = 14
RECENT_CARE_DAYS = 90
# The dashboard's lists are kept in the shared cache while the clinic writes nothing they show (``DASHBOARD``), and
# a minute at most: what changes by the clock alone (a visit becoming overdue, a screening entering its last two
# weeks) or through a write the receivers cannot see (``accounts.generations``) shows within a minute.
LISTS_SECONDS = 60
LISTS_FORMAT = 1  # part of the key: a release that changes the lists' template raises it
DASHBOARD = generations.Generation("dashboard")
# The rows the lists show (the re-assessment board's receivers end this generation too: outcomes.board_cache). A
# save or delete of any of them ends the clinic's generation, but a visit's save only when it changes what the
# lists show of it (``VISIT_FIELDS_SHOWN``: a draft's autosave leaves them); tests/visits/test_dashboard_cache.py
# checks that a worked-out dashboard reads no other table.
LISTS_READ = (
    "accounts.Clinic", "accounts.Membership", "accounts.User",
    "patients.Patient", "patients.Screening", "patients.Consent", "patients.ConsentText", "patients.Episode",
    "visits.Visit", "visits.NeedlingEntry", "visits.AfterCareGiven", "visits.AdverseEvent",
    "visits.NeedleStickIncident", "scheduling.Appointment",
)  # fmt: skip
_OWN_RECEIVERS = ("visits.Visit", "accounts.User")  # a visit's save is filtered by its fields; a user has no clinic
VISIT_FIELDS_SHOWN = ("patient_id", "episode_id", "clinician_id", "started_at", "signed_at", "needles_inserted")


def stored_lists(
    request: HttpRequest, membership: Membership, work_out_context: Callable[[], dict[str, Any]]
) -> SafeString:
    """The dashboard's lists as HTML (``generations.stored_html``): the stored ones while the clinic's
    ``DASHBOARD`` generation is unchanged and for ``LISTS_SECONDS`` at most, else rendered from the membership
    (which keys them) and ``work_out_context()``, and stored."""
    key = generations.membership_day_key("dashboard-lists", LISTS_FORMAT, membership, timezone.localdate())
    return generations.stored_html(
        request,
        [(DASHBOARD, membership.clinic_id)],
        key,
        "visits/_dashboard_lists.html",
        lambda: {**work_out_context(), "membership": membership},
        LISTS_SECONDS,
    )


def _visit_saving(sender: type[Model], instance: Model, raw: bool = False, update_fields: Any = None, **_: Any) -> None:
    """Before a visit is saved: the clinic's stored lists are out of date if it is new or what they show of it
    changes."""
    if not raw and generations.saving_changes(
        sender, instance, VISIT_FIELDS_SHOWN, update_fields, new_row_changes=True
    ):
        DASHBOARD.end(generations.clinic_of(instance))


def _visit_deleted(sender: type[Model], instance: Model, **_: Any) -> None:
    """After a visit is deleted: the clinic's stored lists are out of date."""
    DASHBOARD.end(generations.clinic_of(instance))


def connect() -> None:
    """Connect the receivers that end the clinic's ``DASHBOARD`` generation (VisitsConfig.ready)."""
    generations.end_on_writes(DASHBOARD, [label for label in LISTS_READ if label not in _OWN_RECEIVERS], "dashboard")
    pre_save.connect(_visit_saving, sender="visits.Visit", dispatch_uid="dashboard_saving_visit")
    post_delete.connect(_visit_deleted, sender="visits.Visit", dispatch_uid="dashboard_deleted_visits.Visit")
    generations.end_on_user_renames(DASHBOARD, "dashboard")


def shows_own_lists(membership: Membership) -> bool:
    """A clinician sees their own lists; a clinic admin sees the clinic's."""
    return membership.role == Role.CLINICIAN


def _visits(membership: Membership) -> Any:
    visits = scoped(membership, Visit.objects.all(), Capability.VIEW_CLINICAL)
    return visits.filter(clinician=membership) if shows_own_lists(membership) else visits


def open_adverse_events(membership: Membership, *, due_only: bool = False, limit: int = LIST_LIMIT) -> list[Any]:
    """Open adverse events (the clinician's patients' or the clinic's), soonest follow-up first."""
    events = scoped(membership, AdverseEvent.objects.filter(closed_at__isnull=True), Capability.VIEW_CLINICAL)
    if due_only:
        events = events.filter(follow_up_due__lte=timezone.localdate())
    if shows_own_lists(membership) and due_only:
        events = events.filter(visit__clinician=membership)
    found = list(events.select_related("patient", "visit").order_by("follow_up_due", "pk")[:limit])
    return list(listed(found, "open adverse events due" if due_only else "open adverse events"))


def _today_bounds() -> tuple[datetime, datetime]:
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time.min))
    return start, start + timedelta(days=1)


def lapsing(membership: Membership, now: datetime | None = None, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    """Patients in current care whose screening lapses within 14 days, or whose consent no longer holds.

    "In current care": an open episode, and a visit (by this clinician, for a clinician) in the last 90 days.
    """
    now = now or timezone.now()
    valid = timedelta(days=settings.SCREENING_VALID_DAYS)
    # By patient (the outer rows are already the clinic's), so the patient index answers it.
    cared_for = Visit.objects.filter(
        patient_id=OuterRef("patient_id"), started_at__gte=now - timedelta(days=RECENT_CARE_DAYS)
    )
    if shows_own_lists(membership):
        cared_for = cared_for.filter(clinician=membership)
    open_episode = Episode.objects.filter(patient_id=OuterRef("patient_id"), status=Episode.Status.OPEN)
    newer_screening = Screening.objects.filter(
        patient_id=OuterRef("patient_id"), screened_at__gt=OuterRef("screened_at")
    )
    screenings = (
        Screening.objects.filter(
            clinic_id=membership.clinic_id,
            invalidated_at__isnull=True,
            screened_at__gt=now - valid,
            screened_at__lte=now - valid + timedelta(days=LAPSE_WARNING_DAYS),
        )
        .filter(Exists(cared_for), Exists(open_episode))
        .exclude(Exists(newer_screening))
        .select_related("patient")
        .only("id", "clinic_id", "patient_id", "screened_at", *patient_name_fields("patient"))
        .order_by("screened_at")[:limit]
    )
    rows = [{"patient": s.patient, "what": "Screening", "when": s.expires_at, "detail": "lapses"} for s in screenings]
    # A consent no longer holds when withdrawn or given to a text that is no longer current. The texts are few and
    # read first, so both conditions are index conditions (the partial index of withdrawn consents, the text
    # index) and the query reads only the consents that no longer hold, not every consent of the clinic.
    old_texts = list(
        ConsentText.objects.filter(clinic_id=membership.clinic_id, is_current=False).values_list("pk", flat=True)
    )
    newer_consent = Consent.objects.filter(patient_id=OuterRef("patient_id"), signed_at__gt=OuterRef("signed_at"))
    consents = (
        Consent.objects.filter(clinic_id=membership.clinic_id)
        .filter(Q(withdrawn_at__isnull=False) | Q(text_id__in=old_texts))
        .filter(Exists(cared_for), Exists(open_episode))
        .exclude(Exists(newer_consent))
        .select_related("patient", "text")
        .only(
            "id",
            "clinic_id",
            "patient_id",
            "text_id",
            "signed_at",
            "withdrawn_at",
            "text__id",
            "text__version",
            *patient_name_fields("patient"),
        )
        .order_by("-signed_at")[:limit]
    )
    for c in consents:
        detail = "withdrawn" if c.withdrawn_at else f"given to text version {c.text.version}, not the current one"
        rows.append({"patient": c.patient, "what": "Consent", "when": c.withdrawn_at or c.signed_at, "detail": detail})
    return rows


def dashboard_for(membership: Membership) -> dict[str, Any]:
    """The dashboard's context: each list bounded, counts from the partial index of unsigned visits."""
    now = timezone.now()
    start, end = _today_bounds()
    visits = _visits(membership)
    # Whether each of today's visits was needled and got its after-care sheet comes in the same query: the
    # after-care list is then read from it (see ``_without_after_care``).
    today = list(
        visits.filter(started_at__gte=start, started_at__lt=end)
        .annotate(**_after_care_flags())
        .select_related("patient", "clinician__user")
        .only(*VISIT_LIST_FIELDS)
        .order_by("started_at", "pk")[:LIST_LIMIT]
    )
    listed(today, "dashboard: today's visits")
    return {
        "mine": shows_own_lists(membership),
        "today": today,
        **unsigned_visits(membership, QUEUE_HEAD_ROWS, "dashboard: unsigned visits", now=now),
        "events_due": open_adverse_events(membership, due_only=True),
        "lapsing": _listed_lapsing(lapsing(membership, now)),
        "needle_sticks": _open_needle_sticks(membership),
        "no_after_care": _without_after_care(today, visits, start, end),
        "panels": dashboard_panels(membership),  # other apps' sections (outcomes: re-assessments overdue)
    }


def unsigned_visits(membership: Membership, limit: int, what: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The oldest ``limit`` unsigned visits (the clinician's own, or the clinic's for an admin) as ``unsigned``,
    recorded in the audit trail as the list ``what``, with ``unsigned_count`` and ``overdue_count`` of them all."""
    unsigned = _visits(membership).filter(signed_at__isnull=True)
    oldest = listed(
        list(
            unsigned.select_related("patient", "clinician__user")
            .only(*VISIT_LIST_FIELDS)
            .order_by("started_at", "pk")[:limit]
        ),
        what,
    )
    overdue_before = (now or timezone.now()) - OVERDUE_AFTER
    return {"unsigned": oldest, **_unsigned_counts(unsigned, oldest, limit, overdue_before)}


def _unsigned_counts(unsigned: Any, oldest: list[Visit], limit: int, overdue_before: datetime) -> dict[str, int]:
    """How many visits are unsigned, and how many of them overdue: counted from the list when it holds them all,
    else in one query (both counts at once)."""
    if len(oldest) < limit:
        return {
            "unsigned_count": len(oldest),
            "overdue_count": sum(1 for v in oldest if v.started_at < overdue_before),
        }
    counts: dict[str, int] = unsigned.aggregate(
        unsigned_count=Count("pk"), overdue_count=Count("pk", filter=Q(started_at__lt=overdue_before))
    )
    return counts


def _after_care_flags() -> dict[str, Exists]:
    """A visit's ``has_needling`` (a needling entry) and ``has_after_care`` (the after-care sheet was given)."""
    return {
        "has_needling": Exists(NeedlingEntry.objects.filter(visit_id=OuterRef("pk"))),
        "has_after_care": Exists(AfterCareGiven.objects.filter(visit_id=OuterRef("pk"))),
    }


def _without_after_care(today: list[Visit], visits: Any, start: datetime, end: datetime) -> list[Visit]:
    """The after-care list from today's visits when the list holds all of them, else by its own query."""
    if len(today) >= LIST_LIMIT:
        return without_after_care(visits, start, end)
    found = [v for v in today if getattr(v, "has_needling", False) and not getattr(v, "has_after_care", True)]
    return listed(found, "dashboard: needling visits without after-care")


def without_after_care(visits: Any, start: datetime, end: datetime) -> list[Visit]:
    """The day's needling visits whose patient has not been given the after-care sheet (one query)."""
    flags = _after_care_flags()
    found = (
        visits.filter(started_at__gte=start, started_at__lt=end)
        .filter(flags["has_needling"])
        .exclude(flags["has_after_care"])
        .select_related("patient", "clinician__user")
        .only(*VISIT_LIST_FIELDS)
        .order_by("started_at", "pk")[:LIST_LIMIT]
    )
    return listed(list(found), "dashboard: needling visits without after-care")


def _listed_lapsing(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lapsing list, recorded in the audit trail by the patients it names."""
    listed([row["patient"] for row in rows], "dashboard: lapsing screenings and consents")
    return rows


def _open_needle_sticks(membership: Membership) -> list[Any]:
    """The clinic's open needle-stick injuries to staff, soonest follow-up first (one query)."""
    from needlepoint.visits.needle_stick import open_needle_sticks

    return open_needle_sticks(membership, limit=LIST_LIMIT)
