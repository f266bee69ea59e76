"""The application's database role (PostgreSQL) reads and writes rows and nothing more: TRUNCATE, DISABLE
TRIGGER and DDL are refused, and the audit trail only takes inserts. `needlepoint db grants` prints or applies
the grants; on SQLite, which has no users, it says so."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from needlepoint.accounts.dbroles import grant_statements
from needlepoint.accounts.models import AuditEntry
from needlepoint.cli import main
from needlepoint.patients import actions
from needlepoint.patients.models import Patient

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles need PostgreSQL")


def test_the_grants_give_rows_not_tables_and_keep_the_audit_trail_append_only() -> None:
    statements = grant_statements("needlepoint_app", "needlepoint")

    assert 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "needlepoint_app"' in statements
    assert 'REVOKE UPDATE, DELETE ON "public"."accounts_auditentry" FROM "needlepoint_app"' in statements
    assert not any("TRUNCATE" in s or "TRIGGER" in s or "ALL PRIVILEGES" in s for s in statements)
    assert grant_statements('odd"name', "db")[1] == 'GRANT CONNECT, TEMPORARY ON DATABASE "db" TO "odd""name"'


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite answer")
def test_on_sqlite_the_command_explains_there_are_no_roles(db, capsys) -> None:
    assert main(["db", "grants", "--role", "needlepoint_app"]) == 2
    assert "PostgreSQL feature" in capsys.readouterr().err


def test_apply_without_the_owners_connection_is_refused(monkeypatch, capsys) -> None:
    monkeypatch.delenv("DATABASE_URL_OWNER", raising=False)

    assert main(["db", "grants", "--role", "needlepoint_app", "--apply"]) == 2
    assert "DATABASE_URL_OWNER" in capsys.readouterr().err


@pytest.mark.postgres
@on_postgres
def test_the_application_role_is_refused_truncate_disable_trigger_and_ddl(clinician, monkeypatch, capsys) -> None:
    # Roles are created inside the test's transaction, so the rollback at the end removes this one too.
    role = f"np_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
    monkeypatch.setenv("DATABASE_URL", "unused: Django is already connected")
    assert main(["db", "grants", "--role", role, "--apply", "--database-url", "postgres://owner@host/db"]) == 0
    assert "Granted" in capsys.readouterr().out

    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')
    try:
        refused = {
            "truncate audit": "TRUNCATE accounts_auditentry",
            "truncate needling": "TRUNCATE visits_needlingentry",
            "disable trigger": "ALTER TABLE accounts_auditentry DISABLE TRIGGER audit_append_only",
            "create table": "CREATE TABLE evil (id int)",
            "drop table": "DROP TABLE patients_patient CASCADE",
            "update audit": "UPDATE accounts_auditentry SET summary = 'x'",
            "delete audit": "DELETE FROM accounts_auditentry",
        }
        for sql in refused.values():
            with (
                pytest.raises(DatabaseError, match=r"permission denied|must be owner"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql)

        # The ordinary work of the application still goes through, audit entry and all.
        before = AuditEntry.objects.count()
        patient = actions.register_patient(
            clinician, {"given_name": "Ann", "family_name": "Roe", "date_of_birth": date(1970, 1, 2), "sex": "female"}
        )
        assert Patient.objects.filter(pk=patient.pk).exists()
        assert AuditEntry.objects.count() > before
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


@pytest.mark.postgres
@on_postgres
def test_apply_refuses_a_role_that_owns_the_tables(db, capsys) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]

    assert main(["db", "grants", "--role", owner, "--apply", "--database-url", "postgres://owner@host/db"]) == 2
    err = capsys.readouterr().err
    assert "superuser" in err or "owns" in err
