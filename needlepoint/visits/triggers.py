"""The database triggers behind signed-visit immutability, for SQLite and PostgreSQL.

They are the last line: the actions, the models and their querysets refuse first with a clear message,
but a raw SQL client, a script or a future bug must not be able to change a signed note either.
"""

from __future__ import annotations

from typing import Any

SIGNED = "a signed visit cannot be changed or deleted; add an addendum"

_VISIT_SIGNED = "(SELECT signed_at FROM visits_visit WHERE id = {row}.visit_id) IS NOT NULL"

# name -> (table, event, SQLite WHEN condition or "", message)
_RULES: dict[str, tuple[str, str, str, str]] = {
    "visit_signed_no_update": ("visits_visit", "UPDATE", "OLD.signed_at IS NOT NULL", SIGNED),
    "visit_signed_no_delete": ("visits_visit", "DELETE", "OLD.signed_at IS NOT NULL", SIGNED),
    "needling_signed_no_insert": ("visits_needlingentry", "INSERT", _VISIT_SIGNED.format(row="NEW"), SIGNED),
    "needling_signed_no_update": (
        "visits_needlingentry",
        "UPDATE",
        f"{_VISIT_SIGNED.format(row='OLD')} OR {_VISIT_SIGNED.format(row='NEW')}",
        SIGNED,
    ),
    "needling_signed_no_delete": ("visits_needlingentry", "DELETE", _VISIT_SIGNED.format(row="OLD"), SIGNED),
    "addendum_no_update": ("visits_addendum", "UPDATE", "", "addenda cannot be changed"),
    "addendum_no_delete": ("visits_addendum", "DELETE", "", "addenda cannot be deleted"),
    "follow_up_no_update": ("visits_adverseeventfollowup", "UPDATE", "", "follow-ups cannot be changed"),
    "follow_up_no_delete": ("visits_adverseeventfollowup", "DELETE", "", "follow-ups cannot be deleted"),
    "adverse_event_no_delete": ("visits_adverseevent", "DELETE", "", "adverse events cannot be deleted"),
}


def _sqlite_create(name: str, table: str, event: str, when: str, message: str) -> list[str]:
    condition = f" WHEN {when}" if when else ""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {event} ON {table} FOR EACH ROW{condition} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
    ]


def _postgres_create(name: str, table: str, event: str, when: str, message: str) -> list[str]:
    # PostgreSQL WHEN clauses cannot hold subqueries, so the condition is tested inside the function.
    test = f"IF {when} THEN RAISE EXCEPTION '{message}'; END IF;" if when else f"RAISE EXCEPTION '{message}';"
    row = "OLD" if event == "DELETE" else "NEW"
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN {test} RETURN {row}; END; $$ "
        "LANGUAGE plpgsql;",
        f"DROP TRIGGER IF EXISTS {name} ON {table};",
        f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();",
    ]


def trigger_sql(vendor: str) -> list[str]:
    """The statements that create every trigger on ``vendor`` ("sqlite" or "postgresql")."""
    make = {"sqlite": _sqlite_create, "postgresql": _postgres_create}.get(vendor)
    if make is None:
        return []
    return [sql for name, rule in _RULES.items() for sql in make(name, *rule)]


def drop_sql(vendor: str) -> list[str]:
    """The statements that remove every trigger on ``vendor``."""
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name};" for name in _RULES]
    if vendor == "postgresql":
        return [
            sql
            for name, (table, *_rest) in _RULES.items()
            for sql in (f"DROP TRIGGER IF EXISTS {name} ON {table};", f"DROP FUNCTION IF EXISTS {name}();")
        ]
    return []


def trigger_names() -> list[str]:
    """The names of the triggers, to check they exist."""
    return list(_RULES)


def create_triggers(connection: Any) -> None:
    """Create every trigger on ``connection`` (idempotent)."""
    with connection.cursor() as cursor:
        for statement in trigger_sql(connection.vendor):
            cursor.execute(statement)


def drop_triggers(connection: Any) -> None:
    """Remove every trigger from ``connection``."""
    with connection.cursor() as cursor:
        for statement in drop_sql(connection.vendor):
            cursor.execute(statement)
