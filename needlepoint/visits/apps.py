from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig


class VisitsConfig(AppConfig):
    """Treatment visits: needling, needle accountability, adverse events, CPT, notes and signing."""

    name = "needlepoint.visits"
    label = "visits"

    def ready(self) -> None:
        from needlepoint.visits import panels  # noqa: F401  registers the patient and episode panels

        _let_sqlite_flush_pass_the_triggers()


def _let_sqlite_flush_pass_the_triggers() -> None:
    """``flush`` (wipe the whole database: tests, ``manage.py flush``) also empties signed visits on SQLite.

    PostgreSQL flushes with TRUNCATE, which row triggers do not see; SQLite flushes with DELETE, which the
    signed-visit triggers refuse. So a SQLite flush that includes the visit tables drops those triggers,
    deletes, and creates them again in flush's one transaction. Ordinary DELETE and UPDATE stay refused.
    """
    from django.db.backends.sqlite3.base import DatabaseWrapper

    from needlepoint.visits.triggers import drop_sql, trigger_sql

    operations = DatabaseWrapper.ops_class  # Django's SQLite DatabaseOperations
    original = operations.sql_flush
    if getattr(original, "keeps_visit_triggers", False):
        return

    def sql_flush(
        self: Any, style: Any, tables: Sequence[str], *, reset_sequences: bool = False, allow_cascade: bool = False
    ) -> list[str]:
        statements = original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        if not any('"visits_' in statement for statement in statements):
            return statements
        return [*drop_sql("sqlite"), *statements, *trigger_sql("sqlite")]

    sql_flush.keeps_visit_triggers = True  # type: ignore[attr-defined]  # marks the patch so it is applied once
    for name in ("keeps_audit_triggers",):
        if getattr(original, name, False):
            setattr(sql_flush, name, True)
    operations.sql_flush = sql_flush  # type: ignore[method-assign]  # patches Django's SQLite flush (issue 15, item 7)
