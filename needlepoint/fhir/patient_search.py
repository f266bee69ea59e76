"""The FHIR Patient search in the database: one filter per search parameter of ``search.PARAMS["Patient"]``
(a clinic may hold 100,000 patients, so the patients are not built and matched in memory like a patient's records).
Every patient comes from ``patients_for`` (clinic-scoped, role-checked) and the search is recorded by ``searched``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from needlepoint.accounts.access import patients_for, searched
from needlepoint.accounts.models import Membership
from needlepoint.fhir import codes, mapping, records, search
from needlepoint.fhir.mapping import Json
from needlepoint.fhir.paging import Page
from needlepoint.fhir.search import Criterion, DateTest, Query
from needlepoint.inputs import whole_number
from needlepoint.patients.models import Patient, PatientIdentifier, normalise_name
from needlepoint.patients.search import starts_with

GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
NOTHING = Q(pk__in=[])


def _ids(criterion: Criterion, clinic_slug: str) -> Q:
    wanted = []
    for t in criterion.values:
        text = t.code or ""
        if not text.isascii():
            raise ValidationError("_id is a patient's id, written with the ASCII digits 0-9.")
        number = whole_number(text, smallest=1)
        if number is not None and t.system in (None, ""):
            wanted.append(number)
    return Q(pk__in=wanted)


def _kept_identifier(clinic_slug: str, system: str | None, value: str) -> Q:
    """Patients with an identifier kept from another system: ``system`` and ``value`` (either may be open)."""
    rows = PatientIdentifier.objects.filter(clinic__slug=clinic_slug)
    if system:
        rows = rows.filter(system=system)
    if value:
        rows = rows.filter(value=value)
    return Q(pk__in=rows.values("patient_id"))


def _identifier(criterion: Criterion, clinic_slug: str) -> Q:
    """The MRN (our system, or no system: "|MRN" matches too, as it always has, for a client that knows only the
    number), and the identifiers kept from other systems (their system, or the value alone)."""
    found = NOTHING
    ours = codes.mrn_system(clinic_slug)
    for t in criterion.values:
        code = (t.code or "").strip()
        if t.system in (None, "", ours):
            found |= Q(mrn=code.upper()) if code else ~NOTHING
        if t.system is None and code:
            found |= _kept_identifier(clinic_slug, None, code)
        elif t.system and t.system != ours:
            found |= _kept_identifier(clinic_slug, t.system, code)
    return found


def _name_starts(fields: tuple[str, ...]) -> Callable[[Criterion, str], Q]:
    def matching(criterion: Criterion, clinic_slug: str) -> Q:
        found = NOTHING
        for text in criterion.values:
            typed = normalise_name(text)
            if typed:
                for name in fields:
                    found |= starts_with(name, typed)
        return found

    return matching


def _gender(criterion: Criterion, clinic_slug: str) -> Q:
    wanted = [t.code for t in criterion.values if t.system in (None, GENDER_SYSTEM) and t.code]
    found = Q(sex__in=[g for g in wanted if g in Patient.Sex.values])
    if "unknown" in wanted:  # a sex outside the four codes is shown as unknown
        found |= ~Q(sex__in=["male", "female", "other", "unknown"])
    return found


def _birthdate_one(test: DateTest) -> Q:
    how, first, second = search.birthdate_bounds(test)
    if how == "range" or how == "near":
        return Q(date_of_birth__gte=first, date_of_birth__lt=second)
    if how == "not-range":
        return Q(date_of_birth__lt=first) | Q(date_of_birth__gte=second)
    if how == "from":
        return Q(date_of_birth__gte=first)
    return Q(date_of_birth__lt=first)


def _birthdate(criterion: Criterion, clinic_slug: str) -> Q:
    found = NOTHING
    for test in criterion.values:
        found |= _birthdate_one(test)
    return found


# One filter per Patient search parameter, keyed by the names search.PARAMS lists (checked below).
FILTERS: dict[str, Callable[[Criterion, str], Q]] = {
    "_id": _ids,
    "identifier": _identifier,
    "name": _name_starts(("search_name", "search_given_first")),
    "family": _name_starts(("search_name",)),
    "gender": _gender,
    "birthdate": _birthdate,
}
assert tuple(FILTERS) == search.names("Patient"), "every listed Patient parameter needs its filter"


def matching(membership: Membership, query: Query) -> QuerySet[Patient]:
    """The clinic's patients that meet every criterion (AND), each criterion's values any (OR)."""
    if not query.criteria:
        listed = ", ".join(search.names("Patient"))
        raise ValidationError(f"Search patients by at least one of: {listed}.")
    patients = patients_for(membership).select_related("clinic").prefetch_related("identifiers")
    for criterion in query.criteria:
        patients = patients.filter(FILTERS[criterion.param.name](criterion, membership.clinic.slug))
    return patients


def search_patients(membership: Membership, query: Query, page: Page) -> tuple[list[Json], int]:
    """One page of the Patient search (by family name, then given name) and how many match, recorded as one
    search."""
    patients = matching(membership, query)
    total = patients.count()
    start, stop = page.window(total)
    found = list(patients.order_by("search_name", "pk")[start:stop]) if stop > start else []
    summary = f"FHIR Patient search: {records.shown(len(found), total)} returned"
    searched(found, summary, object_type="fhir.Patient")
    return [mapping.patient_resource(records.patient_data(p)) for p in found], total
