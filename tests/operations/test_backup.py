"""`needlepoint backup` and `needlepoint restore`: a backup carries a manifest (rows and checksum per table,
triggers, the audit head), a restore goes only into an empty database and is checked against the manifest, and
a damaged backup or a broken audit trail is refused with a message."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from needlepoint.accounts.verify import verify_audit_chain
from needlepoint.cli import main
from needlepoint.operations.backup import BackupError, backup, manifest_path, sqlite_manifest
from tests.accounts.test_audit_chain import tamper
from tests.conftest import client_for

# Committed data (no test transaction), as the online backup API sees a running clinic's database.
pytestmark = [
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backup path"),
    pytest.mark.django_db(transaction=True),
]

PROJECT = Path(__file__).resolve().parents[2]


def needlepoint(*args: str, database: Path) -> subprocess.CompletedProcess:
    """Run the real `needlepoint` command against the SQLite file ``database``."""
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}", SECRET_KEY="test")
    return subprocess.run(
        [sys.executable, "-m", "needlepoint.cli", *args], cwd=PROJECT, env=env, capture_output=True, text=True
    )


@pytest.fixture
def clinic_with_records(clinician, patient):
    client_for(clinician).get(f"/patients/{patient.pk}/")
    return patient


def test_a_backup_holds_every_row_with_its_manifest(clinic_with_records, tmp_path, capsys) -> None:
    output = tmp_path / "nightly.sqlite3"

    assert main(["backup", "--output", str(output)]) == 0

    manifest = sqlite_manifest(output)
    assert manifest.tables["patients_patient"]["rows"] == 1
    assert {"audit_no_update", "audit_no_delete"} <= set(manifest.triggers)
    assert manifest.audit_head == verify_audit_chain().head_hash
    assert manifest_path(output).read_text() != ""
    assert f"head hash {manifest.audit_head}" in capsys.readouterr().out
    copy = sqlite3.connect(output)
    assert copy.execute("SELECT given_name FROM patients_patient").fetchall() == [("Jane",)]


def test_a_backup_never_overwrites_a_file(clinic_with_records, tmp_path) -> None:
    output = tmp_path / "nightly.sqlite3"
    output.write_text("yesterday's")

    with pytest.raises(BackupError, match="already exists"):
        backup(output)
    assert output.read_text() == "yesterday's"


def test_a_backup_of_a_broken_audit_trail_is_refused(clinic_with_records, tmp_path) -> None:
    tamper("UPDATE accounts_auditentry SET summary = 'gone' WHERE id = (SELECT min(id) FROM accounts_auditentry)", [])

    with pytest.raises(BackupError, match="audit trail is broken"):
        backup(tmp_path / "nightly.sqlite3")
    assert not (tmp_path / "nightly.sqlite3").exists()


def test_restore_into_an_empty_database_verifies_every_table(clinic_with_records, tmp_path) -> None:
    saved = tmp_path / "nightly.sqlite3"
    backup(saved)
    target = tmp_path / "restored.sqlite3"

    result = needlepoint("restore", str(saved), database=target)

    assert result.returncode == 0, result.stderr
    assert "Restored and verified" in result.stdout and "audit_no_update" in result.stdout
    assert sqlite_manifest(target).tables == sqlite_manifest(saved).tables
    verify = needlepoint("audit", "verify", database=target)
    assert verify.returncode == 0 and "intact" in verify.stdout

    again = needlepoint("restore", str(saved), database=target)
    assert again.returncode == 1 and "already holds a clinic's data" in again.stderr


def test_a_damaged_backup_is_refused_before_the_database_is_touched(clinic_with_records, tmp_path) -> None:
    saved = tmp_path / "nightly.sqlite3"
    backup(saved)
    damaged = sqlite3.connect(saved)
    damaged.execute("UPDATE patients_patient SET given_name = 'Janet'")
    damaged.commit()
    damaged.close()
    target = tmp_path / "restored.sqlite3"

    result = needlepoint("restore", str(saved), database=target)

    assert result.returncode == 1
    assert "table patients_patient has the same number of rows but different content" in result.stderr
    assert not target.exists()


def test_a_backup_without_its_manifest_is_refused(clinic_with_records, tmp_path) -> None:
    saved = tmp_path / "nightly.sqlite3"
    backup(saved)
    manifest_path(saved).unlink()

    result = needlepoint("restore", str(saved), database=tmp_path / "restored.sqlite3")

    assert result.returncode == 1 and "cannot read the manifest" in result.stderr
