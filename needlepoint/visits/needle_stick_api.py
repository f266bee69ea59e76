"""API for needle-stick injuries to staff (``/api/v1/needle-sticks``): the same actions and access rules as
the pages. A refusal is a 400 with the action's message; nothing is stored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Router, Schema, Status

from needlepoint.accounts.access import require
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.visits import needle_stick
from needlepoint.visits.models import NeedleStickIncident

router = Router(tags=["needle-sticks"])


class NeedleStickOut(Schema):
    id: int
    injured_id: int
    injured: str
    occurred_at: datetime
    description: str
    source_kind: str
    source_patient_id: int | None
    source_visit_id: int | None
    source_consent: str
    source_consent_at: datetime | None
    wound_washed_at: datetime | None
    reported_at: datetime | None
    reported_to: str
    pep_decision: str
    pep_decided_at: datetime | None
    follow_up_due: date | None
    steps_missing: list[str]
    closed_at: datetime | None
    closing_note: str
    version: int


def _out(i: NeedleStickIncident) -> NeedleStickOut:
    fields: dict[str, Any] = {
        name: getattr(i, name)
        for name in (
            "injured_id",
            "occurred_at",
            "description",
            "source_kind",
            "source_patient_id",
            "source_visit_id",
            "source_consent",
            "source_consent_at",
            "wound_washed_at",
            "reported_at",
            "reported_to",
            "pep_decision",
            "pep_decided_at",
            "follow_up_due",
            "closed_at",
            "closing_note",
            "version",
        )
    }
    return NeedleStickOut(id=i.pk, injured=i.injured.display_name, steps_missing=i.steps_missing(), **fields)


class StepsIn(Schema):
    wound_washed_at: datetime | None = None
    reported_at: datetime | None = None
    reported_to: str = ""
    source_consent: str = Field("", description="consented | declined (required when a source patient is named)")
    source_consent_at: datetime | None = None
    pep_decision: str = Field("", description="not_indicated | started | declined")
    pep_decided_at: datetime | None = None


class NeedleStickIn(StepsIn):
    injured_id: int | None = Field(None, description="The injured member of staff; you when omitted")
    occurred_at: datetime
    description: str
    source_kind: str = Field(description="patient | clean_needle | unknown")
    source_patient_id: int | None = None
    source_visit_id: int | None = None
    follow_up_due: date


class StepsUpdate(StepsIn):
    version: int
    follow_up_due: date | None = None


class CloseIn(Schema):
    version: int
    note: str


@router.get("", response=list[NeedleStickOut])
def list_open(request: ClinicRequest) -> list[NeedleStickOut]:
    """Open needle-stick injuries of the clinic, soonest follow-up first."""
    return [_out(i) for i in needle_stick.open_needle_sticks(member(request))]


@router.post("", response={201: NeedleStickOut})
def create(request: ClinicRequest, body: NeedleStickIn) -> Status[NeedleStickOut]:
    """Record a needle-stick injury to a member of staff; a named source patient needs a testing decision."""
    # The role is checked outside the action's transaction, so a refusal stays in the audit trail.
    m = require(request.membership, Capability.EDIT_CLINICAL)
    incident = needle_stick.record_needle_stick(m, body.dict())
    return Status(201, _out(needle_stick.get_needle_stick(m, incident.pk)))


@router.get("/{incident_id}", response=NeedleStickOut)
def read(request: ClinicRequest, incident_id: int) -> NeedleStickOut:
    """One needle-stick injury with its protocol steps."""
    return _out(needle_stick.get_needle_stick(member(request), incident_id))


@router.post("/{incident_id}/steps", response=NeedleStickOut)
def steps(request: ClinicRequest, incident_id: int, body: StepsUpdate) -> NeedleStickOut:
    """Record protocol steps taken since (a recorded step is not overwritten) or a new follow-up date."""
    m = require(request.membership, Capability.EDIT_CLINICAL)
    needle_stick.record_needle_stick_steps(m, incident_id, body.dict(exclude={"version"}), body.version)
    return _out(needle_stick.get_needle_stick(m, incident_id))


@router.post("/{incident_id}/close", response=NeedleStickOut)
def close(request: ClinicRequest, incident_id: int, body: CloseIn) -> NeedleStickOut:
    """Close the incident once every protocol step is recorded (a clinician or the clinic admin)."""
    m = require(request.membership, Capability.CLOSE_INCIDENTS)
    needle_stick.close_needle_stick(m, incident_id, body.note, body.version)
    return _out(needle_stick.get_needle_stick(m, incident_id))
