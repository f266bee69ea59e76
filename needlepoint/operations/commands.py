"""The ``needlepoint backup`` and ``needlepoint restore`` sub-commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], setup_django: Callable[..., None]
) -> None:
    """Add ``backup`` and ``restore`` to the ``needlepoint`` command."""
    p = subparsers.add_parser(
        "backup",
        help="back the database up, with a manifest to verify it by",
        description="Copy the database to FILE (SQLite: the online backup API, safe while serving; PostgreSQL: "
        "pg_dump's custom format) and write FILE.manifest.json beside it: rows and a content checksum per "
        "table, the triggers, and the audit trail's head hash. Refused if the audit trail is broken or its "
        "append-only triggers are missing.",
    )
    p.add_argument("--output", required=True, type=Path, help="the backup file to create (never overwritten)")
    p.set_defaults(func=lambda args: cmd_backup(args, setup_django))

    p = subparsers.add_parser(
        "restore",
        help="restore a backup into an empty database and verify it",
        description="Restore FILE into the configured database, which must hold no data (restore into a new "
        "database, then point DATABASE_URL at it), and check every table's rows and checksum, the triggers "
        "and the audit trail against FILE.manifest.json. On PostgreSQL run it as the owner "
        "(DATABASE_URL_OWNER or --database-url), then `needlepoint db grants --apply`.",
    )
    p.add_argument("file", type=Path, help="a backup made by `needlepoint backup`")
    p.add_argument("--database-url", help="the owner's connection (default: DATABASE_URL_OWNER, else DATABASE_URL)")
    p.set_defaults(func=lambda args: cmd_restore(args, setup_django))

    p = subparsers.add_parser(
        "retention",
        help="archive a patient's record or put it under legal hold (records are never deleted)",
        description="Set a patient's retention status, as a clinic admin (--user): archived (no longer in care) "
        "and/or under legal hold (kept whatever the retention period). --note says why. Nothing is deleted.",
    )
    p.add_argument("--user", required=True, help="the clinic admin making the change (audited)")
    p.add_argument("--patient", required=True, type=int)
    p.add_argument("--archive", action=argparse.BooleanOptionalAction, required=True)
    p.add_argument("--legal-hold", action=argparse.BooleanOptionalAction, required=True)
    p.add_argument("--note", required=True)
    p.set_defaults(func=lambda args: cmd_retention(args, setup_django))


def cmd_backup(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    """Make the backup and print what it holds."""
    setup_django()
    from needlepoint.operations.backup import BackupError, backup, manifest_path

    try:
        manifest = backup(args.output)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows = sum(table["rows"] for table in manifest.tables.values())
    print(f"Backed up {len(manifest.tables)} tables, {rows} rows, to {args.output}.")
    print(f"Manifest: {manifest_path(args.output)}")
    print(f"Audit trail intact: {manifest.audit_entries} entries, head hash {manifest.audit_head}.")
    return 0


def cmd_restore(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    """Restore and verify; exit status 1 if it cannot go ahead or does not match."""
    from needlepoint.accounts.commands import use_owner_database

    use_owner_database(args.database_url)
    setup_django()
    from needlepoint.operations.backup import BackupError, restore

    try:
        manifest = restore(args.file)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows = sum(table["rows"] for table in manifest.tables.values())
    print(f"Restored and verified {len(manifest.tables)} tables, {rows} rows; every checksum matches.")
    print(f"Triggers present: {', '.join(manifest.triggers)}.")
    print(f"Audit trail intact: {manifest.audit_entries} entries, head hash {manifest.audit_head}.")
    return 0


def cmd_retention(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    """Archive or hold a record as the named clinic admin; exit status 2 with the reason if refused."""
    setup_django()
    from django.core.exceptions import ValidationError

    from needlepoint.accounts import audit
    from needlepoint.accounts.access import AccessDenied
    from needlepoint.accounts.models import Membership
    from needlepoint.patients.models import Patient
    from needlepoint.patients.retention import set_retention

    patient = Patient.objects.filter(pk=args.patient).first()
    membership = (
        Membership.objects.filter(user__username=args.user, clinic_id=patient.clinic_id, is_active=True).first()
        if patient
        else None
    )
    if patient is None or membership is None:
        print(f"error: no patient {args.patient} in a clinic of user {args.user!r}", file=sys.stderr)
        return 2
    actor = audit.Actor(membership.user_id, membership.clinic_id, "cli", None, args.user)
    try:
        with audit.event(actor):
            patient = set_retention(
                membership,
                patient.pk,
                archived=args.archive,
                legal_hold=args.legal_hold,
                note=args.note,
                expected_version=patient.version,
            )
    except (ValidationError, AccessDenied) as exc:
        messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        for message in messages:
            print(f"error: {message}", file=sys.stderr)
        return 2
    status = ("archived" if patient.archived_at else "active") + (", under legal hold" if patient.legal_hold else "")
    print(f"Patient {patient.mrn}: {status}.")
    return 0
