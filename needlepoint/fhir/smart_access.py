"""SMART tokens at the FHIR endpoints: who a token speaks for, and whether its scopes allow this interaction.

A token issued to an app acts as the membership that authorised it (a backend service as the admin who
registered it), so the role's limits still apply; the scopes can only narrow them. Under a ``patient/`` scope the
membership is limited to the launch patient (``access.limit_to_patient``): every fetch through the access helper
then sees that patient alone. Personal API tokens and the signed-in session carry no scopes and are not checked
here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.access import limit_to_patient
from needlepoint.accounts.middleware import client_address
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest
from needlepoint.accounts.roles import Capability
from needlepoint.fhir import smart_scopes
from needlepoint.fhir.bulk import EXPORT_TYPES
from needlepoint.fhir.models import AuthorisedToken
from needlepoint.fhir.practitioners import named_for
from needlepoint.fhir.records import RESOURCE_TYPES
from needlepoint.fhir.smart_scopes import Scopes


@dataclass(frozen=True)
class AppGrant:
    """What a request's app token grants: its scopes, the launch patient (if any) and the app's name."""

    scopes: Scopes
    patient_id: int | None
    app_name: str


def authenticate(request: ClinicRequest, raw: str) -> Membership | None:
    """The membership an app's access token acts as (``request.app_grant`` set), or None when the token is
    unknown, expired, revoked, or its app, authorisation or membership no longer stands."""
    found = standing(raw)
    if found is None:
        return None
    link, membership = found
    authorisation = link.authorisation
    try:
        scopes = smart_scopes.parse(link.access_token.scope)
    except smart_scopes.ScopeError:
        return None
    patient_id = authorisation.patient_id if authorisation is not None else None
    # ClinicRequest cannot declare app_grant: accounts sits below fhir and may not import AppGrant.
    request.app_grant = AppGrant(scopes, patient_id, str(link.app))  # type: ignore[attr-defined]
    request.membership = membership
    request.user = membership.user
    label = f"{membership.user.username} via {link.app}"
    request.audit_actor = audit.Actor(membership.user_id, membership.clinic_id, "api", client_address(request), label)
    return membership


def standing(raw: str) -> tuple[AuthorisedToken, Membership] | None:
    """An app's access token and the membership it acts as (a backend service's: the admin who registered it),
    or None when the token is unknown, expired, revoked, or its app, authorisation, membership or user no longer
    stands. The one rule for the FHIR endpoints and OpenID Connect's userinfo."""
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    link = (
        AuthorisedToken.objects.select_related(
            "access_token",
            "app__registered_by__clinic",
            "app__registered_by__user",
            "authorisation__membership__clinic",
            "authorisation__membership__user",
        )
        .filter(access_token__token_checksum=checksum, access_token__expires__gt=timezone.now())
        .first()
    )
    if link is None or link.app.disabled_at is not None:
        return None
    authorisation = link.authorisation
    if authorisation is not None and authorisation.revoked_at is not None:
        return None
    membership = authorisation.membership if authorisation is not None else link.app.registered_by
    if not membership.is_active or not membership.user.is_active or membership.clinic_id != link.app.clinic_id:
        return None
    return link, membership


CONDITIONAL_CREATE = (("Patient", "r"), ("Patient", "s"))  # ifNoneExist answers with the patient it finds


def _transaction_needs(request: HttpRequest) -> list[tuple[str, str]]:
    """A transaction's writes: create (c) for each POSTed entry's type, update (u) for each PUT; and Patient search
    and read for a conditional create (ifNoneExist), whose answer names the patient found (name, birth date, MRN):
    a create-only scope must not read patients, nor walk identifiers to learn who is registered."""
    try:
        bundle = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return [("Patient", "c")]  # the view answers the malformed body; the scope must still allow a write
    needs = {("Patient", "c")}
    entries = bundle.get("entry", []) if isinstance(bundle, dict) else []
    for entry in entries if isinstance(entries, list) else []:
        resource = entry.get("resource", {}) if isinstance(entry, dict) else {}
        method = (entry.get("request") or {}).get("method", "POST") if isinstance(entry, dict) else "POST"
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if isinstance(kind, str):
            needs.add((kind, "u" if method == "PUT" else "c"))
        if isinstance(entry, dict) and (entry.get("request") or {}).get("ifNoneExist"):
            needs.update(CONDITIONAL_CREATE)
    return sorted(needs)


def _export_types(request: HttpRequest) -> tuple[str, ...]:
    wanted = ",".join(request.GET.getlist("_type"))
    if request.method == "POST" and not wanted:
        try:
            parameters = json.loads(request.body or b"{}").get("parameter", [])
            wanted = ",".join(p.get("valueString", "") for p in parameters if p.get("name") == "_type")
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            wanted = ""
    named = tuple(t.strip() for t in wanted.split(",") if t.strip())
    return named or EXPORT_TYPES


def interaction(request: HttpRequest) -> str:
    """The FHIR view the request reached (read, search, everything, transaction, export_system, ...)."""
    return getattr(request.resolver_match.func, "__name__", "") if request.resolver_match else ""


def needs(request: HttpRequest, kwargs: dict[str, Any]) -> list[tuple[str, str]]:
    """The (resource type, permission) pairs the interaction needs, by the view it reached."""
    name = interaction(request)
    kind = kwargs.get("resource_type", "")
    if name in ("read", "vread", "history"):
        return [(kind, "r")]
    if name in ("search", "search_by_post"):
        return [(kind, "s")]
    if name == "everything":
        return [(t, "r") for t in RESOURCE_TYPES]
    if name in ("export_system", "export_patients", "export_group"):
        return [(t, p) for t in _export_types(request) for p in ("r", "s")]
    if name == "export_file":
        return [(kwargs["file_name"].split("-")[0], "r")]
    if name == "export_status":
        return [("*", "r")]
    if name == "transaction":
        return _transaction_needs(request)
    return [("*", "r")]


def _refuse(scopes: Scopes, missing: list[tuple[str, str]], name: str = "") -> PermissionDenied:
    wanted = ", ".join(f"{t}.{p}" for t, p in missing)
    why = ""
    if name == "transaction" and set(missing) & set(CONDITIONAL_CREATE):
        why = (
            " A conditional create (ifNoneExist) answers with the patient it finds, so it needs Patient search and "
            "read (e.g. user/Patient.crs); send the Patient without ifNoneExist, or ask for those scopes."
        )
    return PermissionDenied(f"The app's scopes ({scopes.text()}) do not allow {wanted}.{why}")


def check(request: HttpRequest, membership: Membership, kwargs: dict[str, Any]) -> None:
    """Refuse (PermissionDenied, answered 403) an interaction the app's scopes do not allow; under patient/
    scopes limit the membership to the launch patient and refuse any other patient named in the request."""
    grant: AppGrant | None = getattr(request, "app_grant", None)
    if grant is None:
        return
    name = interaction(request)
    if _own_practitioner(grant, membership, name, kwargs):
        return
    wanted = needs(request, kwargs)
    if name == "export_status":
        allowed = {smart_scopes.decide(grant.scopes, t, "r") for t in EXPORT_TYPES}
        if smart_scopes.ANY not in allowed:
            raise _refuse(grant.scopes, wanted)
        return
    decisions = {pair: smart_scopes.decide(grant.scopes, *pair) for pair in wanted}
    missing = [pair for pair, decision in decisions.items() if decision is None]
    if missing:
        raise _refuse(grant.scopes, missing, name)
    if smart_scopes.PATIENT not in decisions.values():
        return
    if kwargs.get("resource_type") == "Practitioner":
        _practitioner_of_the_patient(name, kwargs, grant, membership)
        return
    if name.startswith("export") or name == "transaction":
        raise PermissionDenied("A patient/ scope reads one patient's record; exports and imports need user/ scopes.")
    if grant.patient_id is None:
        raise PermissionDenied("A patient/ scope needs a launch patient; launch the app with launch/patient.")
    _refuse_other_patient(request, kwargs, grant.patient_id)
    limit_to_patient(membership, grant.patient_id)


def _practitioner_of_the_patient(name: str, kwargs: dict[str, Any], grant: AppGrant, membership: Membership) -> None:
    """Under a patient/ scope a Practitioner is readable only when the launch patient's record names it (any
    reference their resources make: a Procedure's performer, a Condition's or AdverseEvent's recorder, an
    Observation's performer, a QuestionnaireResponse's author) and the app may follow that record to it
    (``_may_follow_to_staff``): the app can follow the references in what it was allowed to read, and learns
    nothing of the rest of the staff. A search of the staff is refused."""
    if not _may_follow_to_staff(grant, membership):
        raise PermissionDenied(
            "Who treated the patient is clinical content: a patient/ scope reaches the Practitioners the launch "
            "patient's record names only with Procedure read granted and a role that may view clinical content."
        )
    patient_id = grant.patient_id
    named = patient_id is not None and named_for(patient_id, kwargs.get("resource_id", ""))
    if name in ("read", "vread", "history") and named:
        return
    raise PermissionDenied(
        "A patient/ scope reaches only the Practitioners the launch patient's record names; the signed-in "
        "user's own comes with fhirUser, the clinic's staff with user/Practitioner.rs."
    )


def _may_follow_to_staff(grant: AppGrant, membership: Membership) -> bool:
    """Whether an app under patient/ scopes may follow the launch patient's record to the staff it names: who
    needled the patient is clinical content, so only when the grant covers Procedure read and the membership's
    role may view clinical content (as ``records`` exports Procedures only to such a role)."""
    procedures_granted = smart_scopes.decide(grant.scopes, "Procedure", "r") is not None
    return procedures_granted and membership.can(Capability.VIEW_CLINICAL)


def _own_practitioner(grant: AppGrant, membership: Membership, name: str, kwargs: dict[str, Any]) -> bool:
    """Whether this is a read of the signed-in user's own Practitioner under the ``fhirUser`` scope, which SMART
    grants as "permission to retrieve information about the current logged-in user" whatever the resource
    scopes: the ``fhirUser`` claim must resolve for an app holding patient/ scopes alone."""
    return (
        "fhirUser" in grant.scopes
        and name in ("read", "vread", "history")
        and kwargs.get("resource_type") == "Practitioner"
        and kwargs.get("resource_id") == str(membership.pk)
    )


def _refuse_other_patient(request: HttpRequest, kwargs: dict[str, Any], patient_id: int) -> None:
    """A request that names a patient other than the launch patient: 403 (other records of other patients are
    simply not found, as the access helper sees the launch patient alone)."""
    named: list[str] = []
    if kwargs.get("resource_type") == "Patient" and "resource_id" in kwargs:
        named.append(kwargs["resource_id"])
    if interaction(request) == "everything":
        named.append(kwargs["resource_id"])
    params = request.POST if request.method == "POST" else request.GET
    named += [value.removeprefix("Patient/") for value in params.getlist("patient")]
    named += (
        [part for value in params.getlist("_id") for part in value.split(",")]
        if kwargs.get("resource_type") == "Patient"
        else []
    )
    if any(value.strip() != str(patient_id) for value in named):
        raise PermissionDenied(f"The app may read only the launch patient's record (Patient/{patient_id}).")
