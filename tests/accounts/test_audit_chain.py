"""The audit trail is tamper-evident: every entry is chained by hash to the one before it, `needlepoint audit
verify` names the first entry that no longer fits, and `flush` refuses to erase a clinic's audit trail."""

from __future__ import annotations

import importlib
import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from needlepoint.accounts import audit, audit_chain
from needlepoint.accounts.management.commands import flush
from needlepoint.accounts.models import AuditEntry
from needlepoint.accounts.verify import verify_audit_chain
from needlepoint.cli import main
from tests.conftest import client_for

append_only = importlib.import_module("needlepoint.accounts.migrations.0002_audit_append_only")


def tamper(sql: str, params: list) -> None:
    """Run ``sql`` on the audit table with its append-only triggers lifted, as an attacker who owns it could."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Fire the deferred foreign-key checks first: PostgreSQL will not alter a table with pending ones.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE accounts_auditentry DISABLE TRIGGER audit_append_only")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE accounts_auditentry ENABLE TRIGGER audit_append_only")
        else:
            for statement in append_only.SQLITE_DOWN:
                cursor.execute(statement)
            cursor.execute(sql, params)
            for statement in append_only.SQLITE_UP:
                cursor.execute(statement)


@pytest.fixture
def trail(clinician, patient):
    """A few real entries: opening the patient page three times, from the web."""
    client = client_for(clinician)
    for _ in range(3):
        client.get(f"/patients/{patient.pk}/")
    return list(AuditEntry.objects.order_by("pk"))


def test_each_entry_is_chained_to_the_one_before_it(trail) -> None:
    assert len(trail) >= 4
    assert trail[0].previous_hash == audit_chain.GENESIS
    for before, after in itertools.pairwise(trail):
        assert after.previous_hash == before.entry_hash
    for entry in trail:
        assert entry.entry_hash == audit_chain.entry_hash(entry.previous_hash, entry.chained_content())
    assert len({entry.entry_hash for entry in trail}) == len(trail)


def test_verify_passes_an_untouched_trail_and_prints_its_head(trail, capsys) -> None:
    assert main(["audit", "verify"]) == 0

    out = capsys.readouterr().out
    assert f"intact: {len(trail)} entries, head hash {trail[-1].entry_hash}" in out


def test_verify_finds_an_entry_changed_behind_the_application(trail, capsys) -> None:
    changed = trail[2]
    tamper("UPDATE accounts_auditentry SET summary = %s WHERE id = %s", ["nothing to see", changed.pk])

    assert main(["audit", "verify"]) == 1

    out = capsys.readouterr().out
    assert f"BROKEN at audit entry {changed.pk}: its content was changed" in out
    assert "2 entries before it are intact" in out


def test_verify_finds_a_removed_entry_at_the_one_after_it(trail) -> None:
    tamper("DELETE FROM accounts_auditentry WHERE id = %s", [trail[1].pk])

    report = verify_audit_chain()

    assert report.broken is not None
    assert report.broken.entry_id == trail[2].pk
    assert "link to the entry before it is broken" in report.broken.reason


def test_verify_finds_a_rewritten_time_even_with_its_own_hash_recomputed(trail) -> None:
    # Forging one entry's hash is not enough: the next entry still points at the old one.
    entry = trail[1]
    forged = entry.chained_content() | {"summary": "forged"}
    tamper(
        "UPDATE accounts_auditentry SET summary = %s, entry_hash = %s WHERE id = %s",
        ["forged", audit_chain.entry_hash(entry.previous_hash, forged), entry.pk],
    )

    report = verify_audit_chain()

    assert report.broken is not None and report.broken.entry_id == trail[2].pk


def test_bulk_inserted_entries_are_chained_too(trail, clinician) -> None:
    AuditEntry.objects.bulk_create(
        [AuditEntry(clinic=clinician.clinic, action="create", object_type="x.Y", object_id=str(i)) for i in range(3)]
    )

    assert verify_audit_chain().broken is None
    assert verify_audit_chain().entries == len(trail) + 3


def test_an_ipv6_address_is_hashed_as_the_database_keeps_it(clinician) -> None:
    actor = audit.Actor(clinician.user_id, clinician.clinic_id, "web", "2001:0db8:0000:0000:0000:0000:0000:0001")
    with audit.event(actor):
        audit.record("read", summary="ipv6", clinic_id=clinician.clinic_id)

    assert AuditEntry.objects.get().client_address == "2001:db8::1"
    assert verify_audit_chain().broken is None


def test_flush_refuses_a_database_holding_audit_entries(trail, monkeypatch) -> None:
    # Outside the test runner's own database (pretend this one is a clinic's) flush must refuse.
    monkeypatch.setitem(connections["default"].settings_dict, "NAME", "clinic-database")
    assert not flush.is_test_database("default")

    with pytest.raises(CommandError, match="holds an audit trail"):
        call_command("flush", interactive=False, verbosity=0)

    monkeypatch.undo()
    assert AuditEntry.objects.count() == len(trail)


def test_the_test_database_is_recognised_as_such(db) -> None:
    assert flush.is_test_database("default")


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_the_entries_written_before_it(clinic) -> None:
    from django.db.migrations.executor import MigrationExecutor

    before = ("accounts", "0003_clinic_minimum_needling_age")  # the last migration before the chain
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    try:
        with connection.cursor() as cursor:
            for number in range(3):
                cursor.execute(
                    "INSERT INTO accounts_auditentry (clinic_id, actor_label, action, object_type, object_id, summary,"
                    " via, at) VALUES (%s, 'system', 'read', 'patients.Patient', %s, 'old entry', 'web', %s)",
                    [clinic.pk, str(number), f"2025-01-0{number + 1} 10:00:00.123456"],
                )
    finally:
        # Forward to every app's latest migration, so the tests that follow on this database find the whole schema.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        executor.loader.build_graph()

    report = verify_audit_chain()
    assert report.broken is None and report.entries == 3
    # The append-only triggers are back after the back-fill.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditentry")
