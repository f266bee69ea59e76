"""Two database roles on PostgreSQL: the owner, who runs migrations, and the application role, which may only
read and write rows.

The application role gets SELECT, INSERT, UPDATE and DELETE on the tables, but on the audit trail only SELECT and
INSERT. It owns nothing, so ALTER TABLE (and with it DISABLE TRIGGER), DROP and TRUNCATE are refused, and it
may not create tables in the schema. ``needlepoint db grants`` prints these statements or applies them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

AUDIT_TABLE = "accounts_auditentry"


if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper


def _quote(identifier: str) -> str:
    """A PostgreSQL identifier, quoted so any name is taken literally."""
    return '"' + identifier.replace('"', '""') + '"'


def grant_statements(role: str, database: str, schema: str = "public") -> list[str]:
    """The statements, run as the owner, that give ``role`` exactly what the application needs."""
    r, db, s = _quote(role), _quote(database), _quote(schema)
    return [
        # Before PostgreSQL 15 every role may create tables in "public"; only the owner should.
        f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r}",
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
        # The audit trail is append-only for the application (the row triggers say so too).
        f"REVOKE UPDATE, DELETE ON {s}.{_quote(AUDIT_TABLE)} FROM {r}",
        # UPDATE on sequences: bulk imports move an id sequence past the ids they gave (setval).
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        # Tables that later migrations create get the same rights (re-run this command after a migration
        # that adds an append-only table).
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {r}",
    ]


def role_problems(cursor: CursorWrapper, role: str) -> list[str]:
    """Why ``role`` could not be a safe application role (it is a superuser, or owns tables), if it could not."""
    cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
    found = cursor.fetchone()
    if found is None:
        return [f"there is no role {role!r}: create it first (CREATE ROLE {_quote(role)} LOGIN PASSWORD '...')"]
    problems = []
    if found[0]:
        problems.append(f"{role!r} is a superuser: a superuser can do anything, whatever is granted")
    cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = %s", [role])
    owned = cursor.fetchone()[0]
    if owned:
        problems.append(f"{role!r} owns {owned} table(s): an owner can TRUNCATE and DISABLE TRIGGER")
    return problems
