"""API: who am I, and the audit trail for clinic admins."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from needlepoint.accounts.access import require
from needlepoint.accounts.models import AuditEntry
from needlepoint.accounts.roles import Capability

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    full_name: str
    clinic: str
    role: str
    capabilities: list[str]


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    """The authenticated user, their clinic and role, and what the role may do."""
    m = request.membership  # type: ignore[attr-defined]
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
def audit_entries(request: HttpRequest, limit: int = 100, patient_id: int | None = None) -> list[AuditOut]:
    """The newest audit entries of the clinic (clinic admins only)."""
    m = require(request.membership, Capability.VIEW_AUDIT)  # type: ignore[attr-defined]
    entries = AuditEntry.objects.filter(clinic_id=m.clinic_id).select_related("user").order_by("-at", "-pk")
    if patient_id is not None:
        entries = entries.filter(patient_id=patient_id)
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
