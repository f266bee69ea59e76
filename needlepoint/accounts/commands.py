"""The ``needlepoint audit verify`` and ``needlepoint db grants`` sub-commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], setup_django: Callable[..., None]
) -> None:
    """Add ``audit verify`` and ``db grants`` to the ``needlepoint`` command."""
    p = subparsers.add_parser("audit", help="the audit trail")
    sub = p.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser(
        "verify",
        help="check the audit trail's hash chain and report the first broken link",
        description="Walk every audit entry in order and check its hash and its link to the entry before it. "
        "Prints the number of entries and the head hash (keep it outside the database: a later verify must "
        "reach the same head or go past it). Exit status 1 at the first entry that does not fit.",
    )
    verify.set_defaults(func=lambda args: cmd_audit_verify(args, setup_django))

    p = subparsers.add_parser("db", help="database roles (PostgreSQL)")
    sub = p.add_subparsers(dest="db_command", required=True)
    grants = sub.add_parser(
        "grants",
        help="print (or apply) the GRANTs of the application's database role",
        description="Print the statements that give the application role only what it needs: rows, not "
        "tables (no TRUNCATE, no ALTER TABLE or DISABLE TRIGGER, no DDL), and on the audit trail only "
        "SELECT and INSERT. With --apply, run them as the owner (DATABASE_URL_OWNER, or --database-url).",
    )
    grants.add_argument("--role", required=True, help="the application role (the user in DATABASE_URL)")
    grants.add_argument("--apply", action="store_true", help="run the statements as the owner")
    grants.add_argument("--database-url", help="the owner's connection (default: DATABASE_URL_OWNER)")
    grants.set_defaults(func=lambda args: cmd_db_grants(args, setup_django))


def cmd_audit_verify(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    """Verify the chain; exit status 1 if a link is broken."""
    setup_django()
    from needlepoint.accounts.verify import verify_audit_chain

    report = verify_audit_chain()
    if report.broken is not None:
        print(f"BROKEN at audit entry {report.broken.entry_id}: {report.broken.reason}.")
        print(f"{report.entries - 1} entries before it are intact; last good hash {report.head_hash}.")
        return 1
    print(f"The audit trail is intact: {report.entries} entries, head hash {report.head_hash}.")
    return 0


def use_owner_database(database_url: str | None) -> bool:
    """Point this process at the owner's database connection (before Django starts), if one is given."""
    url = database_url or os.environ.get("DATABASE_URL_OWNER")
    if url:
        os.environ["DATABASE_URL"] = url
    return bool(url)


def cmd_db_grants(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    """Print the GRANTs, or apply them as the owner."""
    if args.apply and not use_owner_database(args.database_url):
        print("error: --apply needs the owner's connection: DATABASE_URL_OWNER or --database-url", file=sys.stderr)
        return 2
    setup_django()
    from django.db import connection, transaction

    from needlepoint.accounts.dbroles import grant_statements, role_problems

    if connection.vendor != "postgresql":
        print("error: database roles are a PostgreSQL feature; SQLite has no users", file=sys.stderr)
        return 2
    statements = grant_statements(args.role, connection.settings_dict["NAME"])
    if not args.apply:
        print("\n".join(statement + ";" for statement in statements))
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        problems = role_problems(cursor, args.role)
        if problems:
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            return 2
        for statement in statements:
            cursor.execute(statement)
    print(f"Granted {args.role!r} the application's rights on {connection.settings_dict['NAME']!r}.")
    return 0
