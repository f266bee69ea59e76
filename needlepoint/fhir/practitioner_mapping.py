"""A member of a clinic's staff as a FHIR R4 Practitioner. Pure module: no Django.

Every membership of the clinic is a Practitioner, whatever its role: FHIR R4 counts receptionists handling
patient registration among practitioners (Practitioner, "Scope and Usage"), and SMART's ``fhirUser`` must name a
resource for every user who can authorise an app, front desk and clinic admins included. The id is the
membership's (one person working in two clinics is a Practitioner in each, as their role and licence may differ);
the identifier is the user's id in Needlepoint's user system. The clinician's profession and licence number are
its qualification, as written in Needlepoint: no code system is claimed for the profession, and no NPI, which
Needlepoint does not keep. An ended membership stays readable (``active`` false) so that records naming it
still resolve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from needlepoint.fhir import codes
from needlepoint.fhir.mapping import drop_empty, resource_meta

Json = dict[str, Any]


@dataclass(frozen=True)
class PractitionerData:
    """What a Practitioner shows of a membership and its user."""

    id: str
    user_id: int
    username: str
    given_name: str
    family_name: str
    active: bool
    profession: str  # as the clinic reads it ("Physical therapist"), "" for a role without one
    licence_number: str
    version: int
    updated_at: datetime


def practitioner_resource(p: PractitionerData) -> Json:
    """The Practitioner of a membership."""
    full = " ".join(part for part in (p.given_name, p.family_name) if part)
    # No name.use: the account holds the name the person gave, not necessarily their official one.
    name = drop_empty(
        {
            "text": full or p.username,
            "family": p.family_name,
            "given": [p.given_name] if p.given_name else [],
        }
    )
    qualification: list[Json] = []
    if p.profession:
        licence = [{"value": p.licence_number}] if p.licence_number else []
        qualification.append(drop_empty({"identifier": licence, "code": {"text": p.profession}}))
    return drop_empty(
        {
            "resourceType": "Practitioner",
            "id": p.id,
            "meta": resource_meta(p.updated_at, p.version),
            "identifier": [{"use": "usual", "system": codes.user_system(), "value": str(p.user_id)}],
            "active": p.active,
            "name": [name],
            "qualification": qualification,
        }
    )


def referenced_members(resource: Json) -> set[int]:
    """The members a resource names: the ids of its Practitioner references, wherever they are in it."""
    found: set[int] = set()
    waiting: list[Any] = [resource]
    while waiting:
        node = waiting.pop()
        if isinstance(node, dict):
            target = node.get("reference")
            member = target.removeprefix("Practitioner/") if isinstance(target, str) else ""
            if member != target and member.isdigit():
                found.add(int(member))
            waiting += node.values()
        elif isinstance(node, list):
            waiting += node
    return found
