"""The change log the incremental summary refresh reads: which episodes changed since the last refresh.

Database triggers, not the write actions, note the changes: every write to a record the summary tables are built
from (the episode, its imported cohort, its visits, their needling entries and adverse events, its observations
and range-of-motion measurements) appends the episode to ``insights_summarychange``, whichever code path wrote it
(the actions, the importer, the synthetic generator's COPY, a raw SQL client). An update that leaves every column
the summary reads unchanged (a visit's note, its signature) notes nothing. The log is append-only, with no unique
key, so a clinician's write never waits on a refresh that is claiming the log at the same moment.

On PostgreSQL the triggers fire once per statement and read the statement's transition tables, so a bulk COPY of
a million visits costs one INSERT ... SELECT DISTINCT, not a million; SQLite has only row triggers.

SQLite drops a table's triggers when a migration rebuilds the table, so they are created again after every
``migrate`` (``apps.py``), and tests/insights/test_refresh.py checks that they all exist.
"""

from __future__ import annotations

from typing import Any

CHANGE_LOG = "insights_summarychange"

_VISIT_EPISODE = "(SELECT v.episode_id FROM visits_visit v WHERE v.id = {row}.visit_id)"

# table -> (the changed episode as an expression of a row, the columns the summary tables read)
_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "patients_episode": (
        "{row}.id",
        (
            "clinic_id", "patient_id", "condition", "side", "opened_by_id", "opened_at", "discharge_date", "status",
            "discharge_reason",
        ),
    ),
    "insights_episodecohort": ("{row}.episode_id", ("clinic_id", "episode_id", "label")),
    "visits_visit": (
        "{row}.episode_id",
        ("clinic_id", "episode_id", "clinician_id", "started_at", "pain_before", "pain_after", "needles_inserted"),
    ),
    "visits_needlingentry": (_VISIT_EPISODE, ("clinic_id", "visit_id", "muscle_id", "technique")),
    "visits_adverseevent": (_VISIT_EPISODE, ("clinic_id", "visit_id", "event_type", "severity")),
    "outcomes_observation": (
        "{row}.episode_id",
        ("clinic_id", "episode_id", "instrument", "value", "time_point", "observed_at"),
    ),
    "outcomes_rommeasurement": (
        "{row}.episode_id",
        (
            "clinic_id", "episode_id", "joint", "movement", "side", "method", "degrees", "percent_of_normal",
            "observed_at",
        ),
    ),
}  # fmt: skip

_EVENTS = ("INSERT", "UPDATE", "DELETE")


def _name(table: str, event: str) -> str:
    return f"summary_change_{table}_{event.lower()}"


def trigger_names() -> list[str]:
    """The names of every change-log trigger."""
    return [_name(table, event) for table in _SOURCES for event in _EVENTS]


def _sqlite_create(table: str, event: str) -> list[str]:
    episode, columns = _SOURCES[table]
    name = _name(table, event)
    rows = {"INSERT": ("NEW",), "DELETE": ("OLD",), "UPDATE": ("OLD", "NEW")}[event]
    when = ""
    if event == "UPDATE":
        when = " WHEN " + " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in columns)
    inserts = " ".join(
        f"INSERT INTO {CHANGE_LOG} (clinic_id, episode_id) SELECT {row}.clinic_id, {episode.format(row=row)} "
        f"WHERE {episode.format(row=row)} IS NOT NULL;"
        for row in rows
    )
    # Dropped and created again, so that a database made before a change of the columns gets the new definition.
    return [
        f"DROP TRIGGER IF EXISTS {name};",
        f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{when} BEGIN {inserts} END;",
    ]


def _postgres_create(table: str, event: str) -> list[str]:
    episode, columns = _SOURCES[table]
    name = _name(table, event)
    if event == "UPDATE":
        differs = " OR ".join(f"o.{column} IS DISTINCT FROM n.{column}" for column in columns)
        rows = (
            f"SELECT o.clinic_id, {episode.format(row='o')} AS episode_id FROM old_rows o JOIN new_rows n "
            f"ON n.id = o.id WHERE {differs} "
            f"UNION SELECT n.clinic_id, {episode.format(row='n')} FROM old_rows o JOIN new_rows n "
            f"ON n.id = o.id WHERE {differs}"
        )
        referencing = "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    else:
        table_name = "new_rows" if event == "INSERT" else "old_rows"
        rows = f"SELECT DISTINCT r.clinic_id, {episode.format(row='r')} AS episode_id FROM {table_name} r"
        referencing = f"REFERENCING {'NEW' if event == 'INSERT' else 'OLD'} TABLE AS {table_name}"
    body = (
        f"INSERT INTO {CHANGE_LOG} (clinic_id, episode_id) "
        f"SELECT clinic_id, episode_id FROM ({rows}) changed WHERE episode_id IS NOT NULL; RETURN NULL;"
    )
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN {body} END; $$ LANGUAGE plpgsql;",
        f"DROP TRIGGER IF EXISTS {name} ON {table};",
        f"CREATE TRIGGER {name} AFTER {event} ON {table} {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {name}();",
    ]


def trigger_sql(vendor: str) -> list[str]:
    """The statements that create every change-log trigger on ``vendor`` (idempotent)."""
    make = {"sqlite": _sqlite_create, "postgresql": _postgres_create}.get(vendor)
    if make is None:
        return []
    return [sql for table in _SOURCES for event in _EVENTS for sql in make(table, event)]


def drop_sql(vendor: str) -> list[str]:
    """The statements that remove every change-log trigger on ``vendor``."""
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name};" for name in trigger_names()]
    if vendor == "postgresql":
        return [
            sql
            for table in _SOURCES
            for event in _EVENTS
            for sql in (
                f"DROP TRIGGER IF EXISTS {_name(table, event)} ON {table};",
                f"DROP FUNCTION IF EXISTS {_name(table, event)}();",
            )
        ]
    return []


def create_triggers(connection: Any) -> None:
    """Create every change-log trigger on ``connection`` (idempotent)."""
    with connection.cursor() as cursor:
        for statement in trigger_sql(connection.vendor):
            cursor.execute(statement)


def drop_triggers(connection: Any) -> None:
    """Remove every change-log trigger from ``connection``."""
    with connection.cursor() as cursor:
        for statement in drop_sql(connection.vendor):
            cursor.execute(statement)


def existing_triggers(connection: Any) -> set[str]:
    """The change-log triggers present in the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        found = {row[0] for row in cursor.fetchall()}
    return found & set(trigger_names())


def source_tables() -> list[str]:
    """The tables whose writes are noted in the change log."""
    return list(_SOURCES)
