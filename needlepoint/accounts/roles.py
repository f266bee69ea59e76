"""Roles and what each may do: the one table every access decision reads.

Pure module (no Django imports) so the access matrix can be read and tested on its own.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A person's role in one clinic."""

    CLINICIAN = "clinician"
    FRONT_DESK = "front_desk"
    CLINIC_ADMIN = "clinic_admin"


class Capability(StrEnum):
    """Something a role may do with a clinic's patients or settings."""

    VIEW_DEMOGRAPHICS = "view_demographics"  # name, birth date, MRN, contact details
    EDIT_DEMOGRAPHICS = "edit_demographics"
    VIEW_CLINICAL = "view_clinical"  # screening answers, episodes, visits, notes, outcomes
    EDIT_CLINICAL = "edit_clinical"  # screen, open episodes, document visits, sign notes
    RECORD_CONSENT = "record_consent"  # the patient signs in front of the clinic's staff
    VIEW_CONSENT_STATUS = "view_consent_status"  # whether consent is current, not the screening answers
    VIEW_AUDIT = "view_audit"
    VIEW_CLINIC_REPORTS = "view_clinic_reports"  # clinic-wide analytics, no single record opened
    MANAGE_USERS = "manage_users"
    CONFIGURE_CLINIC = "configure_clinic"  # clinic-wide settings such as which questionnaires each condition uses
    VIEW_SCHEDULE = "view_schedule"  # the appointment calendars: times, patients' names, types, statuses
    BOOK_APPOINTMENTS = "book_appointments"  # book, cancel, mark arrived or no-show; set reminder preferences
    EXPORT_RECORD = "export_record"  # a patient's whole record, for the patient's right of access
    MANAGE_RETENTION = "manage_retention"  # archive a record or put it under legal hold (never delete)
    CLOSE_INCIDENTS = "close_incidents"  # close a staff needle-stick incident with the follow-up's outcome


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.CLINICIAN: frozenset(
        {
            Capability.VIEW_DEMOGRAPHICS,
            Capability.EDIT_DEMOGRAPHICS,
            Capability.VIEW_CLINICAL,
            Capability.EDIT_CLINICAL,
            Capability.RECORD_CONSENT,
            Capability.VIEW_CONSENT_STATUS,
            Capability.VIEW_CLINIC_REPORTS,
            Capability.VIEW_SCHEDULE,
            Capability.BOOK_APPOINTMENTS,
            Capability.CLOSE_INCIDENTS,
        }
    ),
    # Front desk registers patients and takes consent signatures, but never reads clinical content.
    Role.FRONT_DESK: frozenset(
        {
            Capability.VIEW_DEMOGRAPHICS,
            Capability.EDIT_DEMOGRAPHICS,
            Capability.RECORD_CONSENT,
            Capability.VIEW_CONSENT_STATUS,
            Capability.VIEW_SCHEDULE,
            Capability.BOOK_APPOINTMENTS,
        }
    ),
    # The clinic owner or lead clinician: reads records and reports, runs the audit, manages staff,
    # but documents care only if also given a clinician membership.
    Role.CLINIC_ADMIN: frozenset(
        {
            Capability.VIEW_DEMOGRAPHICS,
            Capability.EDIT_DEMOGRAPHICS,
            Capability.VIEW_CLINICAL,
            Capability.VIEW_CONSENT_STATUS,
            Capability.VIEW_AUDIT,
            Capability.VIEW_CLINIC_REPORTS,
            Capability.MANAGE_USERS,
            Capability.CONFIGURE_CLINIC,
            Capability.VIEW_SCHEDULE,
            Capability.BOOK_APPOINTMENTS,
            Capability.EXPORT_RECORD,
            Capability.MANAGE_RETENTION,
            # The clinic lead receives needle-stick reports and sees the follow-up through to its end.
            Capability.CLOSE_INCIDENTS,
        }
    ),
}


def role_can(role: str, capability: Capability) -> bool:
    """Whether a role holds a capability."""
    try:
        return capability in ROLE_CAPABILITIES[Role(role)]
    except ValueError:
        return False
