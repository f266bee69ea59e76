"""The one access helper: every fetch of a patient-scoped object goes through here.

It filters by the user's clinic (so another clinic's records look exactly like missing ones), checks the
role's capability, and records the read in the audit trail. Views and API endpoints never call
``Model.objects.get()`` on patient data themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import Http404

from needlepoint.accounts import audit
from needlepoint.accounts.roles import Capability
from needlepoint.inputs import whole_number

if TYPE_CHECKING:
    from needlepoint.accounts.models import Membership
    from needlepoint.patients.models import Patient

M = TypeVar("M", bound=models.Model)
Listed = TypeVar("Listed", bound=Sequence[models.Model])
Found = TypeVar("Found", bound=Sequence[object])  # records, or FHIR resources built from them

# The start of a refusal's summary when the record asked for is not the clinic's (or does not exist).
NOT_FOUND = "not found in this clinic:"


class AccessDenied(PermissionDenied):
    """The user's role does not allow this; the message says which capability was missing."""


def require_member(membership: Membership | None) -> Membership:
    """The membership a request acts under; a signed-in user of no clinic is refused (403)."""
    if membership is None:
        raise AccessDenied("You are not a member of any clinic.")
    return membership


def require(membership: Membership | None, capability: Capability) -> Membership:
    """The membership, if it holds ``capability``; otherwise refuse (and record the refusal)."""
    membership = require_member(membership)
    if not membership.can(capability):
        audit.record("denied", summary=f"missing {capability.value}", clinic_id=membership.clinic_id)
        raise AccessDenied(f"Your role ({membership.get_role_display()}) does not allow this.")
    return membership


def limit_to_patient(membership: Membership, patient_id: int) -> Membership:
    """Limit this (request's) membership to one patient: every fetch through ``scoped`` then finds that patient's
    records alone. A SMART app under a patient/ scope acts so (needlepoint.fhir.smart_access)."""
    membership.only_patient_id = patient_id
    return membership


def scoped(membership: Membership, queryset: models.QuerySet[M], capability: Capability) -> models.QuerySet[M]:
    """``queryset`` limited to the membership's clinic (and to one patient, see ``limit_to_patient``), after
    checking the capability."""
    require(membership, capability)
    queryset = queryset.filter(clinic_id=membership.clinic_id)
    only = getattr(membership, "only_patient_id", None)
    if only is not None:
        field = "pk" if queryset.model._meta.label == "patients.Patient" else "patient_id"
        queryset = queryset.filter(**{field: only})
    return queryset


def patients_for(membership: Membership, capability: Capability = Capability.VIEW_DEMOGRAPHICS) -> QuerySet[Patient]:
    """The clinic's patients that this membership may list."""
    from needlepoint.patients.models import Patient

    return scoped(membership, Patient.objects.all(), capability)


def get_patient(
    membership: Membership,
    patient_id: int | str,
    capability: Capability = Capability.VIEW_DEMOGRAPHICS,
    *,
    for_update: bool = False,
) -> Patient:
    """One patient of the membership's clinic, read-audited; 404 for anyone else's."""
    queryset = patients_for(membership, capability)
    if for_update:
        queryset = queryset.select_for_update(no_key=True, of=("self",))  # see get_record
    patient = _get_or_404(queryset, patient_id, membership)
    audit.record("read", patient, summary=f"patient ({capability.value})")
    return patient


def get_record(
    membership: Membership,
    queryset: models.QuerySet[M],
    pk: int | str,
    capability: Capability = Capability.VIEW_CLINICAL,
    *,
    patient_id: int | str | None = None,
    for_update: bool = False,
    summary: str = "",
) -> M:
    """One patient-scoped record of the membership's clinic (optionally of one patient), read-audited.

    ``summary`` names what was read when the audit trail should say more than the record's type.
    """
    queryset = scoped(membership, queryset, capability)
    if patient_id is not None:
        queryset = queryset.filter(patient_id=_as_int(patient_id))
    if for_update:
        # Only the record's own row, and FOR NO KEY UPDATE: a plain FOR UPDATE would also lock the joined rows
        # (the clinic's, shared by every write) and block other transactions' foreign-key checks, which wait at
        # COMMIT while holding the audit chain's lock: a deadlock under concurrent writes (benchmarks/clinic_load.py).
        queryset = queryset.select_for_update(no_key=True, of=("self",))
    obj = _get_or_404(queryset, pk, membership)
    audit.record("read", obj, summary=summary)
    return obj


def listed(records: Listed, what: str) -> Listed:
    """Record that a list of patient records was shown (a dashboard, a worklist, an API list); returns the list.

    One read entry names the list, how many records it held and whose they were, so a list is accounted
    for like a page that opens one record.
    """
    patient_ids = sorted({pid for pid in (audit.patient_of(r) for r in records) if pid is not None})
    audit.record(
        "read",
        summary=audit.list_summary(what, patient_ids, len(records)),
        patient_id=patient_ids[0] if len(patient_ids) == 1 else None,
        object_type=records[0]._meta.label if records else "",
    )
    return records


def searched(
    found: Found, summary: str, *, object_type: str, patient_id: int | None = None, clinic_id: int | None = None
) -> Found:
    """Record that a search was made and what it found (one search entry: ``summary`` says what was looked for
    and how many came back; it may name the patient or clinic it was limited to); returns ``found``.

    Every search of patient data is recorded here, whether a page, the API or FHIR made it.
    """
    audit.record("search", summary=summary, object_type=object_type, patient_id=patient_id, clinic_id=clinic_id)
    return found


def _with_clinic(record: M, membership: Membership) -> M:
    """``record`` with its clinic taken from the membership, which the middleware read with it: the same row (the
    record was fetched within that clinic), so a page that shows the clinic's settings does not read it again."""
    relation = getattr(getattr(type(record), "clinic", None), "field", None)
    if (
        relation is not None
        and type(membership).clinic.is_cached(membership)
        and getattr(record, "clinic_id", None) == membership.clinic_id
        and not relation.is_cached(record)
    ):
        relation.set_cached_value(record, membership.clinic)
    return record


def _as_int(value: int | str) -> int:
    # An id beyond 64 bits overflows the database driver, and int() reads other scripts' digits ("١٢"):
    # either names no record.
    number = whole_number(str(value)) if isinstance(value, (int, str)) else None
    if number is None:
        raise Http404("Not found")
    return number


def _get_or_404(queryset: models.QuerySet[M], pk: int | str, membership: Membership) -> M:
    label = queryset.model._meta.label
    try:
        return _with_clinic(queryset.get(pk=_as_int(pk)), membership)
    except (ObjectDoesNotExist, Http404) as exc:
        # A probe of another clinic's record looks like a missing one to the user, but not to the trail.
        asked = str(pk)[:40]
        audit.record("denied", summary=f"{NOT_FOUND} {label} {asked}", object_type=label, object_id=asked)
        raise Http404("Not found") from exc
