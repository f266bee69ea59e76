"""``flush`` that refuses to empty a database holding audit entries, except the test database.

Django's ``flush`` deletes every row of every table; on a clinic's database that would erase the audit trail
(on PostgreSQL by TRUNCATE, which row triggers do not see). Tests flush their own throw-away database between
cases, so that one is allowed.
"""

from __future__ import annotations

from typing import Any

from django.core import mail
from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import DatabaseError, connections
from django.db.backends.base.creation import TEST_DATABASE_PREFIX


def is_test_database(alias: str) -> bool:
    """Whether ``alias`` is connected to the database the test runner created (and will destroy).

    Both must hold: the test environment is set up (Django's ``setup_test_environment`` gives ``mail`` its
    outbox), and the database carries a test database's name (``test_...``, its TEST NAME, or in memory).
    """
    connection = connections[alias]
    name = str(connection.settings_dict["NAME"])
    in_memory = getattr(connection, "is_in_memory_db", lambda: False)()
    named_as_test = name.startswith(TEST_DATABASE_PREFIX) or name == connection.settings_dict["TEST"]["NAME"]
    return hasattr(mail, "outbox") and (named_as_test or in_memory)


class Command(flush.Command):
    """Django's flush, refused where it would erase an audit trail."""

    help = flush.Command.help + " Refused on a database that holds audit entries (outside the test database)."

    def handle(self, **options: Any) -> None:
        alias = options["database"]
        if not is_test_database(alias) and _holds_audit_entries(alias):
            raise CommandError(
                "Refused: this database holds an audit trail, and flush would erase it. Clinical records and "
                "their audit trail are never deleted; restore a backup into a new database instead."
            )
        return super().handle(**options)


def _holds_audit_entries(alias: str) -> bool:
    """Whether the database has an audit trail with entries (a database not yet migrated has none)."""
    from needlepoint.accounts.models import AuditEntry

    try:
        return AuditEntry.objects.using(alias).exists()
    except DatabaseError:
        return False
