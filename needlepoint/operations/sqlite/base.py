"""Django's SQLite backend, whose flush also empties the tables that triggers keep append-only.

``flush`` wipes the whole database (between tests, ``manage.py flush``). PostgreSQL flushes with TRUNCATE,
which row triggers do not see; SQLite flushes with DELETE, which the audit trail's and signed visits'
triggers refuse. So a flush that includes those tables drops their triggers, deletes, and creates them again,
inside flush's one transaction. Ordinary DELETE and UPDATE stay refused. Settings select this backend
whenever the database is SQLite; nothing else differs from Django's.
"""

import importlib
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.backends.sqlite3.operations import DatabaseOperations as SQLiteOperations  # loaded by base above

from needlepoint.visits import triggers as visit_triggers


def _audit_trigger_sql() -> tuple[list[str], list[str]]:
    """The audit trail's append-only triggers: (drop, create), as its migration wrote them."""
    migration = importlib.import_module("needlepoint.accounts.migrations.0002_audit_append_only")
    return list(migration.SQLITE_DOWN), list(migration.SQLITE_UP)


class DatabaseOperations(SQLiteOperations):
    """SQLite's operations with a flush that lifts the append-only triggers for its own DELETEs only."""

    def sql_flush(
        self, style: Any, tables: Any, *, reset_sequences: bool = False, allow_cascade: bool = False
    ) -> list[str]:
        """Django's flush statements, wrapped in dropping and re-creating the triggers they would trip."""
        statements = super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        drop: list[str] = []
        create: list[str] = []
        if any('"accounts_auditentry"' in statement for statement in statements):
            audit_drop, audit_create = _audit_trigger_sql()
            drop += audit_drop
            create += audit_create
        if any('"visits_' in statement for statement in statements):
            drop += visit_triggers.drop_sql("sqlite")
            create += visit_triggers.trigger_sql("sqlite")
        return [*drop, *statements, *create]


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's SQLite connection using the operations above."""

    ops_class = DatabaseOperations
