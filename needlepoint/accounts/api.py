"""API: who am I, and the audit trail for clinic admins."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema, Status

from needlepoint.accounts import actions
from needlepoint.accounts.access import require
from needlepoint.accounts.models import ApiToken, AuditEntry, Membership
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    full_name: str
    clinic: str
    role: str
    capabilities: list[str]


@router.get("/me", response=MeOut)
def me(request: ClinicRequest) -> MeOut:
    """The authenticated user, their clinic and role, and what the role may do."""
    m = member(request)
    return MeOut(
        username=m.user.username,
        full_name=m.user.get_full_name(),
        clinic=m.clinic.name,
        role=m.role,
        capabilities=[c.value for c in Capability if m.can(c)],
    )


class AuditOut(Schema):
    at: datetime
    user: str | None
    action: str
    object_type: str
    object_id: str
    patient_id: int | None
    summary: str
    via: str
    client_address: str | None


@router.get("/audit", response=list[AuditOut])
def audit_entries(
    request: ClinicRequest,
    limit: int = 100,
    patient_id: int | None = None,
    action: str | None = None,
    user: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditOut]:
    """The newest audit entries of the clinic, filtered as on the audit page (clinic admins only)."""
    m = require(request.membership, Capability.VIEW_AUDIT)
    entries = AuditEntry.objects.filter(clinic_id=m.clinic_id).select_related("user").order_by("-at", "-pk")
    if patient_id is not None:
        entries = entries.filter(patient_id=patient_id)
    if action:
        entries = entries.filter(action=action)
    if user:
        entries = entries.filter(user__username__iexact=user.strip())
    if since:
        entries = entries.filter(at__gte=since)
    if until:
        entries = entries.filter(at__lte=until)
    return [
        AuditOut(
            at=e.at,
            user=e.user.username if e.user else None,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            patient_id=e.patient_id,
            summary=e.summary,
            via=e.via,
            client_address=e.client_address,
        )
        for e in entries[: max(1, min(limit, 1000))]
    ]


class StaffOut(Schema):
    id: int
    username: str
    full_name: str
    role: str
    profession: str
    licence_number: str
    is_active: bool


class StaffIn(Schema):
    username: str
    password: str
    role: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    profession: str = ""
    licence_number: str = ""


def _staff_out(m: Membership) -> StaffOut:
    return StaffOut(
        id=m.pk,
        username=m.user.username,
        full_name=m.user.get_full_name(),
        role=m.role,
        profession=m.profession,
        licence_number=m.licence_number,
        is_active=m.is_active,
    )


@router.get("/staff", response=list[StaffOut])
def staff(request: ClinicRequest) -> list[StaffOut]:
    """The clinic's staff and their roles (clinic admins only)."""
    m = require(request.membership, Capability.MANAGE_USERS)
    people = m.clinic.memberships.select_related("user").order_by("role", "user__last_name")
    return [_staff_out(p) for p in people]


@router.post("/staff", response={201: StaffOut})
def add_staff(request: ClinicRequest, body: StaffIn) -> Status[StaffOut]:
    """Add a person with one role in the clinic (clinic admins only)."""
    m = require(request.membership, Capability.MANAGE_USERS)
    added = actions.create_user(
        m.clinic,
        body.username,
        body.password,
        body.role,
        first_name=body.first_name,
        last_name=body.last_name,
        email=body.email,
        profession=body.profession,
        licence_number=body.licence_number,
    )
    return Status(201, _staff_out(added))


class TokenOut(Schema):
    id: int
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str


class TokenIn(Schema):
    name: str
    days: int | None = None


def _token_out(t: ApiToken) -> TokenOut:
    return TokenOut(
        id=t.pk,
        name=t.name,
        hint=t.hint,
        created_at=t.created_at,
        expires_at=t.expires_at,
        last_used_at=t.last_used_at,
        revoked_at=t.revoked_at,
    )


@router.get("/tokens", response=list[TokenOut])
def tokens(request: ClinicRequest) -> list[TokenOut]:
    """Your own API tokens (never the tokens themselves, which are stored hashed)."""
    m = member(request)
    return [_token_out(t) for t in m.user.api_tokens.order_by("-created_at")]


@router.post("/tokens", response={201: NewTokenOut})
def create_token(request: ClinicRequest, body: TokenIn) -> Status[NewTokenOut]:
    """A new token for you in this clinic, expiring after ``days`` (default and maximum set by the server).

    The answer carries the token once.
    """
    token, raw = actions.create_api_token(member(request), body.name, body.days)
    return Status(201, NewTokenOut(**_token_out(token).dict(), token=raw))


@router.post("/tokens/{token_id}/revoke", response=TokenOut)
def revoke_token(request: ClinicRequest, token_id: int) -> TokenOut:
    """Revoke one of your own tokens; a clinic admin may revoke any token used in the clinic."""
    return _token_out(actions.revoke_api_token(member(request), token_id))
