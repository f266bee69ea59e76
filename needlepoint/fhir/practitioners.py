"""The clinic's staff as FHIR Practitioners: read and searched by any member of the clinic, another clinic's
staff never found (404, as a record of another clinic). A staff list holds no patient data, so the reads are not
written to the patients' audit trail (as the Questionnaires are not). What a Practitioner shows, and why every
role is one, is ``practitioner_mapping``'s."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from needlepoint.accounts.access import require_member
from needlepoint.accounts.models import Membership
from needlepoint.fhir.mapping import Json
from needlepoint.fhir.paging import Page
from needlepoint.fhir.practitioner_mapping import PractitionerData, practitioner_resource
from needlepoint.fhir.search import Query
from needlepoint.patients.models import normalise_name
from needlepoint.visits.models import NeedlingEntry, Visit


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


def performed_for(patient_id: int, resource_id: str) -> bool:
    """Whether the Practitioner ``resource_id`` is named as performer by a Procedure of the patient (a signed
    visit with needling, as ``records`` exports them, signed by that member)."""
    if not resource_id.isdigit():
        return False
    member = int(resource_id)
    has_needling = Exists(NeedlingEntry.objects.filter(visit_id=OuterRef("pk")))
    visits = Visit.objects.filter(has_needling, patient_id=patient_id, signed_at__isnull=False)
    return visits.filter(Q(signed_by_id=member) | Q(signed_by__isnull=True, clinician_id=member)).exists()
