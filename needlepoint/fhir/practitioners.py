"""The clinic's staff as FHIR Practitioners: read and searched by any member of the clinic, another clinic's
staff never found (404, as a record of another clinic). A staff list holds no patient data, so the reads are not
written to the patients' audit trail (as the Questionnaires are not). What a Practitioner shows, and why every
role is one, is ``practitioner_mapping``'s."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from needlepoint.accounts.access import require_member
from needlepoint.accounts.models import Membership
from needlepoint.fhir.mapping import Json
from needlepoint.fhir.paging import Page
from needlepoint.fhir.practitioner_mapping import PractitionerData, practitioner_resource
from needlepoint.fhir.search import Query
from needlepoint.outcomes.models import Observation, RomMeasurement
from needlepoint.patients.models import Episode, normalise_name
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit


def practitioner_data(m: Membership) -> PractitionerData:
    """The mapping's view of a membership (select its user with it)."""
    return PractitionerData(
        id=str(m.pk),
        user_id=m.user_id,
        username=m.user.username,
        given_name=m.user.first_name,
        family_name=m.user.last_name,
        active=m.is_active and m.user.is_active,
        profession=m.get_profession_display() if m.profession else "",
        licence_number=m.licence_number,
        version=m.version,
        updated_at=m.updated_at,
    )


def _staff(membership: Membership) -> QuerySet[Membership]:
    return Membership.objects.filter(clinic_id=require_member(membership).clinic_id).select_related("user")


def read(membership: Membership, resource_id: str) -> Json:
    """GET Practitioner/{id}: a member of the membership's clinic; 404 for anyone else."""
    found = _staff(membership).filter(pk=int(resource_id)).first() if resource_id.isdigit() else None
    if found is None:
        raise Http404("Not found")
    return practitioner_resource(practitioner_data(found))


def _name_matches(resource: Json, wanted: tuple[str, ...]) -> bool:
    """Whether a word of the given or family name starts with one of the wanted texts (case and accents
    ignored), as the Patient search reads ``name``."""
    name = resource["name"][0]
    words = normalise_name(" ".join([*name.get("given", []), name.get("family", ""), name.get("text", "")])).split()
    starts = [normalise_name(w) for w in wanted]
    return any(word.startswith(start) for word in words for start in starts if start)


def search(membership: Membership, query: Query, page: Page) -> tuple[list[Json], int]:
    """GET Practitioner?...: one page of the clinic's staff meeting every criterion, and how many in all."""
    every = [practitioner_resource(practitioner_data(m)) for m in _staff(membership).order_by("pk")]
    for criterion in query.criteria:
        if criterion.param.name == "name":
            every = [r for r in every if _name_matches(r, criterion.values)]
        else:
            every = [r for r in every if criterion.matches(r)]
    start, stop = page.window(len(every))
    return every[start:stop], len(every)


def named_in_records(patient_ids: Sequence[int]) -> set[int]:
    """The members (Practitioner ids) the patients' records name, as ``records`` writes them through
    ``mapping.staff_reference``: who signed a Procedure (a signed visit with needling: its signer, else its
    clinician), opened an episode (Condition.recorder), recorded a score the clinic took (Observation.performer
    and QuestionnaireResponse.author; a patient's own answers name the patient) or measured a range of motion, and
    who recorded an adverse event. tests/fhir/test_practitioner.py holds this to the references the
    resources really make."""
    has_needling = Exists(NeedlingEntry.objects.filter(visit_id=OuterRef("pk")))
    signed = Visit.objects.filter(has_needling, patient_id__in=patient_ids, signed_at__isnull=False)
    named = {signer or clinician for signer, clinician in signed.values_list("signed_by_id", "clinician_id")}
    named |= set(Episode.objects.filter(patient_id__in=patient_ids).values_list("opened_by_id", flat=True))
    scores = Observation.objects.filter(patient_id__in=patient_ids, recorded_by__isnull=False).exclude(source="patient")
    named |= {m for m in scores.values_list("recorded_by_id", flat=True) if m is not None}
    named |= set(RomMeasurement.objects.filter(patient_id__in=patient_ids).values_list("recorded_by_id", flat=True))
    named |= set(AdverseEvent.objects.filter(patient_id__in=patient_ids).values_list("recorded_by_id", flat=True))
    return named


def named_for(patient_id: int, resource_id: str) -> bool:
    """Whether the patient's record names the Practitioner ``resource_id`` (``named_in_records``)."""
    return resource_id.isdigit() and int(resource_id) in named_in_records([patient_id])


def staff_resources(membership: Membership, member_ids: Iterable[int] | None = None) -> list[Json]:
    """The clinic's staff as Practitioners (or those of ``member_ids`` among them), in id order: for a bulk
    export, which has checked who may ask."""
    staff = _staff(membership)
    if member_ids is not None:
        staff = staff.filter(pk__in=list(member_ids))
    return [practitioner_resource(practitioner_data(m)) for m in staff.order_by("pk")]
