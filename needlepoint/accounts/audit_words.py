"""The audit trail in human words: what was done, to which record, of which patient, linked where the viewer may go.

The trail stores codes ("denied", "missing view_clinical", "patients.Patient 81") so that it stays exact and
exportable; this module turns a page of entries into words ("Refused: needs clinical access", "Patient Rosa
Marquez (MRN 000081)") with one query per kind of record on the page, never one per entry. Records are fetched
through the access helper's clinic scope and only with the capability that opens them; they are listed, not opened,
so the audit page does not add a read entry per row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import models
from django.urls import reverse
from django.utils import timezone

from needlepoint.accounts.access import NOT_FOUND, scoped
from needlepoint.accounts.models import AuditEntry, Membership
from needlepoint.accounts.roles import Capability
from needlepoint.inputs import whole_number

ACTION_WORDS = {
    "create": "Created",
    "read": "Opened",
    "update": "Changed",
    "search": "Searched",
    "export": "Exported",
    "login": "Signed in",
    "login_failed": "Sign-in failed",
    "logout": "Signed out",
    "denied": "Refused",
}

# What a refusal needed, in the words of the role table (roles.Capability).
CAPABILITY_WORDS = {
    Capability.VIEW_DEMOGRAPHICS: "access to patient details",
    Capability.EDIT_DEMOGRAPHICS: "permission to edit patient details",
    Capability.VIEW_CLINICAL: "clinical access",
    Capability.EDIT_CLINICAL: "permission to document care",
    Capability.RECORD_CONSENT: "permission to record consent",
    Capability.VIEW_CONSENT_STATUS: "access to consent status",
    Capability.VIEW_AUDIT: "access to the audit trail",
    Capability.VIEW_CLINIC_REPORTS: "access to clinic reports",
    Capability.MANAGE_USERS: "permission to manage staff",
    Capability.CONFIGURE_CLINIC: "permission to configure the clinic",
}

# Entries about a kind of thing rather than one record (searches, reports).
TYPE_WORDS = {
    "patients.Patient": "Patient search",
    "fhir.Patient": "FHIR patient search",
    "insights.ClaimsReport": "Claims report",
    "insights.ResponderReport": "Responder report",
}

_MISSING = re.compile(r"^missing (\w+)$")
_PATIENT_READ = re.compile(r"^patient \((\w+)\)$")


@dataclass(frozen=True)
class Described:
    """A record in words, and the page that opens it (None where there is none or the viewer may not open it)."""

    words: str
    url: str | None = None


@dataclass(frozen=True)
class ReadableEntry:
    """One audit entry with its action, record, patient and person in words beside the stored codes."""

    entry: AuditEntry
    who: str
    action: str
    record: Described | None
    patient: Described | None
    details: str


@dataclass(frozen=True)
class _Kind:
    """How to fetch and describe one kind of record: what it needs loaded, the capability that opens it."""

    capability: Capability
    related: tuple[str, ...]
    describe: Callable[[Any], Described]


def _day(moment: datetime) -> str:
    """The clinic's calendar day of a moment (TIME_ZONE), as the rest of the product shows it."""
    return f"{timezone.localtime(moment):%Y-%m-%d}"


def _episode_url(e: Any) -> str:
    return reverse("episode", args=[e.patient_id, e.pk])


def _visit_url(visit_id: int) -> str:
    return reverse("visit", args=[visit_id])


def _muscle(muscle_id: str) -> str:
    return muscle_id.replace("-", " ")


KINDS: dict[str, _Kind] = {
    "patients.Patient": _Kind(
        Capability.VIEW_DEMOGRAPHICS,
        (),
        lambda p: Described(f"Patient {p.full_name} (MRN {p.mrn})", reverse("patient", args=[p.pk])),
    ),
    "patients.Episode": _Kind(
        Capability.VIEW_CLINICAL,
        (),
        lambda e: Described(
            f"Episode: {e.condition_label} ({e.get_side_display().lower()}), {e.icd10_code}", _episode_url(e)
        ),
    ),
    "patients.Screening": _Kind(
        Capability.VIEW_CLINICAL,
        (),
        lambda s: Described(
            f"Safety screening of {_day(s.screened_at)}", reverse("screening", args=[s.patient_id, s.pk])
        ),
    ),
    "patients.Consent": _Kind(
        Capability.VIEW_CONSENT_STATUS,
        (),
        lambda c: Described(f"Consent signed {_day(c.signed_at)}", reverse("patient", args=[c.patient_id])),
    ),
    "visits.Visit": _Kind(
        Capability.VIEW_CLINICAL,
        (),
        lambda v: Described(f"Visit of {_day(v.started_at)}", _visit_url(v.pk)),
    ),
    "visits.NeedlingEntry": _Kind(
        Capability.VIEW_CLINICAL,
        ("visit",),
        lambda n: Described(
            f"Needling of {_muscle(n.muscle_id)} ({n.side}), visit of {_day(n.visit.started_at)}",
            _visit_url(n.visit_id),
        ),
    ),
    "visits.Addendum": _Kind(
        Capability.VIEW_CLINICAL,
        ("visit",),
        lambda a: Described(f"Addendum to the visit of {_day(a.visit.started_at)}", _visit_url(a.visit_id)),
    ),
    "visits.AdverseEvent": _Kind(
        Capability.VIEW_CLINICAL,
        (),
        lambda a: Described(
            f"Adverse event: {a.event_type.replace('_', ' ')} ({a.severity}), {_day(a.onset_at)}",
            reverse("adverse_event", args=[a.pk]),
        ),
    ),
    "visits.AdverseEventFollowUp": _Kind(
        Capability.VIEW_CLINICAL,
        (),
        lambda f: Described(f"Adverse event follow-up of {_day(f.at)}", reverse("adverse_event", args=[f.event_id])),
    ),
    "atlas.Assessment": _Kind(
        Capability.VIEW_CLINICAL,
        (),
        lambda a: Described(
            f"{a.get_kind_display()} of {_day(a.assessed_at)}", reverse("atlas_assessment", args=[a.pk])
        ),
    ),
    "atlas.PalpationFinding": _Kind(
        Capability.VIEW_CLINICAL,
        (),
        lambda f: Described(
            f"Palpation finding: {_muscle(f.muscle_id)} ({f.side})", reverse("atlas_assessment", args=[f.assessment_id])
        ),
    ),
    "outcomes.Observation": _Kind(
        Capability.VIEW_CLINICAL,
        (),
        lambda o: Described(
            f"Outcome {o.instrument} of {o.observed_on}",
            reverse("outcomes_progress", args=[o.patient_id, o.episode_id]),
        ),
    ),
    "outcomes.RomMeasurement": _Kind(
        Capability.VIEW_CLINICAL,
        (),
        lambda r: Described(
            f"Range of motion: {r.joint.replace('_', ' ')} {r.movement} of {r.observed_on}",
            reverse("outcomes_progress", args=[r.patient_id, r.episode_id]),
        ),
    ),
    "outcomes.SelfReportLink": _Kind(
        Capability.VIEW_DEMOGRAPHICS,
        (),
        lambda s: Described(
            f"{'Headache diary' if s.kind == 'diary' else 'Questionnaire'} link of {_day(s.created_at)}",
            reverse("patient", args=[s.patient_id]),
        ),
    ),
    "outcomes.HeadacheDiaryEntry": _Kind(
        Capability.VIEW_CLINICAL,
        (),
        lambda d: Described(
            f"Headache diary day {d.day:%Y-%m-%d}", reverse("outcomes_progress", args=[d.patient_id, d.episode_id])
        ),
    ),
    "outcomes.LinkMessage": _Kind(
        Capability.VIEW_DEMOGRAPHICS,
        (),
        lambda m: Described(
            f"Questionnaire link sent by {m.get_channel_display().lower()} on {_day(m.sent_at)}",
            reverse("outcomes_send_link", args=[m.patient_id]),
        ),
    ),
    "accounts.Membership": _Kind(
        Capability.MANAGE_USERS,
        ("user",),
        lambda m: Described(
            f"Staff member {m.user.get_full_name() or m.user.username} ({m.get_role_display()})", reverse("staff")
        ),
    ),
}


def describe_entries(entries: Sequence[AuditEntry], viewer: Membership) -> list[ReadableEntry]:
    """Each entry in words, with links the viewer may follow; one query per kind of record present."""
    records = _records(entries, viewer)
    return [
        ReadableEntry(
            entry=e,
            who=_who(e),
            action=_action(e),
            record=_record(e, records),
            patient=_patient(e, records),
            details=_details(e),
        )
        for e in entries
    ]


def _records(entries: Iterable[AuditEntry], viewer: Membership) -> dict[tuple[str, str], Described]:
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        if e.object_id and e.object_type in KINDS:
            wanted[e.object_type].add(e.object_id)
        if e.patient_id:
            # The patient column and patient records share one query.
            wanted["patients.Patient"].add(str(e.patient_id))
    found: dict[tuple[str, str], Described] = {}
    for label, ids in wanted.items():
        for pk, described in _records_of(label, ids, viewer).items():
            found[label, pk] = described
    return found


def _records_of(label: str, ids: Iterable[Any], viewer: Membership) -> dict[str, Described]:
    """The viewer's clinic's records of one kind, by id as text; nothing where the viewer may not see them."""
    kind = KINDS[label]
    numbers = [n for n in (whole_number(str(i), smallest=1) for i in ids) if n is not None]
    if not numbers or not viewer.can(kind.capability):
        return {}
    model: type[models.Model] = apps.get_model(label)
    queryset = model._default_manager.filter(pk__in=numbers)
    if kind.related:
        queryset = queryset.select_related(*kind.related)
    if any(f.name == "clinic" for f in model._meta.fields):
        queryset = scoped(viewer, queryset, kind.capability)
    return {str(obj.pk): kind.describe(obj) for obj in queryset}


def _patient(e: AuditEntry, records: dict[tuple[str, str], Described]) -> Described | None:
    if not e.patient_id:
        return None
    return records.get(("patients.Patient", str(e.patient_id))) or Described(f"Patient {e.patient_id}")


def _record(e: AuditEntry, records: dict[tuple[str, str], Described]) -> Described | None:
    if not e.object_type:
        return None
    if e.object_id:
        found = records.get((e.object_type, e.object_id))
        if found:
            return found
        return Described(f"{_type_name(e.object_type)} {e.object_id}")
    return Described(TYPE_WORDS.get(e.object_type) or _type_name(e.object_type))


def _type_name(label: str) -> str:
    """A model label in words ("visits.NeedlingEntry" is "Needling entry"); the label itself if unknown."""
    try:
        return str(apps.get_model(label)._meta.verbose_name).capitalize()
    except (LookupError, ValueError):
        return label


def _action(e: AuditEntry) -> str:
    words = ACTION_WORDS.get(e.action, e.get_action_display())
    missing = _MISSING.match(e.summary) if e.action == "denied" else None
    if e.action == "denied" and e.summary.startswith(NOT_FOUND):
        return f"{words}: not found in this clinic"
    if missing:
        try:
            return f"{words}: needs {CAPABILITY_WORDS[Capability(missing.group(1))]}"
        except ValueError:
            return f"{words}: needs {missing.group(1).replace('_', ' ')}"
    return words


def _details(e: AuditEntry) -> str:
    """The stored summary where it adds something the action and record do not already say."""
    if e.action == "denied" and (_MISSING.match(e.summary) or e.summary.startswith(NOT_FOUND)):
        return ""
    read = _PATIENT_READ.match(e.summary) if e.action == "read" else None
    if read:
        try:
            return f"with {CAPABILITY_WORDS[Capability(read.group(1))]}"
        except ValueError:
            return e.summary
    return e.summary


def _who(e: AuditEntry) -> str:
    if e.user is None:
        return e.actor_label or "system"
    name = e.user.get_full_name()
    return f"{name} ({e.user.username})" if name else e.user.username
