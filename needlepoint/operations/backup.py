"""Backups and restores that prove themselves: every backup carries a manifest (rows and a content checksum per
table, the triggers, the audit trail's head hash), and a restore is checked against it before it is trusted.

SQLite is copied with its online backup API, so the server may keep running; PostgreSQL with ``pg_dump`` in the
custom format, taken from the same snapshot the manifest is computed from, and restored with ``pg_restore``.
A restore never overwrites a database that already holds data.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from needlepoint.accounts import audit_chain

# The append-only triggers of the audit trail (accounts migration 0002): a restore without them is refused.
REQUIRED_TRIGGERS = {"sqlite": {"audit_no_update", "audit_no_delete"}, "postgresql": {"audit_append_only"}}


class BackupError(Exception):
    """A backup or restore that cannot go ahead or did not come out right; the message says why."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds: per table, its row count and content checksum; the triggers; the audit head."""

    vendor: str
    created_at: str
    tables: dict[str, dict[str, Any]]
    triggers: list[str]
    audit_entries: int
    audit_head: str

    def to_json(self) -> str:
        """The manifest as written beside the backup."""
        return json.dumps(self.__dict__, indent=2, sort_keys=True)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """The manifest written beside the backup at ``path``."""
        try:
            return cls(**json.loads(manifest_path(path).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise BackupError(f"cannot read the manifest {manifest_path(path)}: {exc}") from exc


def manifest_path(backup: Path) -> Path:
    """Where the manifest of ``backup`` lives."""
    return backup.with_name(backup.name + ".manifest.json")


def differences(expected: Manifest, found: Manifest) -> list[str]:
    """Every way ``found`` (a restored database) departs from ``expected`` (the backup's manifest)."""
    problems = []
    for table, want in sorted(expected.tables.items()):
        got = found.tables.get(table)
        if got is None:
            problems.append(f"table {table} is missing")
        elif got["rows"] != want["rows"]:
            problems.append(f"table {table} has {got['rows']} rows, the backup {want['rows']}")
        elif got["checksum"] != want["checksum"]:
            problems.append(f"table {table} has the same number of rows but different content")
    missing = sorted(set(expected.triggers) - set(found.triggers))
    if missing:
        problems.append("triggers missing: " + ", ".join(missing))
    return problems


def _manifest(vendor: str, tables: dict[str, dict[str, Any]], triggers: list[str], chain: Any) -> Manifest:
    missing = REQUIRED_TRIGGERS[vendor] - set(triggers)
    if missing:
        raise BackupError("the audit trail's append-only triggers are missing: " + ", ".join(sorted(missing)))
    if chain.broken is not None:
        raise BackupError(f"the audit trail is broken at entry {chain.broken.entry_id}: {chain.broken.reason}")
    return Manifest(
        vendor=vendor,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tables=tables,
        triggers=sorted(triggers),
        audit_entries=chain.entries,
        audit_head=chain.head_hash,
    )


# SQLite ------------------------------------------------------------------------------------------------------


def _sqlite_row_text(row: tuple[Any, ...]) -> str:
    return json.dumps([value.hex() if isinstance(value, bytes) else value for value in row], default=str)


def sqlite_manifest(path: Path) -> Manifest:
    """The manifest of the SQLite database file at ``path``, read with a plain connection (no conversions)."""
    if not path.exists():
        raise BackupError(f"there is no database file at {path}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"{path} fails SQLite's integrity check")
        names = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        tables = {}
        for name in names:
            digest, rows = hashlib.sha256(), 0
            for row in db.execute(f'SELECT * FROM "{name}" ORDER BY rowid'):
                digest.update(_sqlite_row_text(row).encode() + b"\n")
                rows += 1
            tables[name] = {"rows": rows, "checksum": digest.hexdigest()}
        triggers = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
        chain = _sqlite_chain(db) if "accounts_auditentry" in names else audit_chain.walk([])
    finally:
        db.close()
    return _manifest("sqlite", tables, triggers, chain)


def _sqlite_chain(db: sqlite3.Connection) -> audit_chain.ChainReport:
    """Walk the audit chain of a database file (times come back as text and are read as UTC)."""
    columns = ("id", "previous_hash", "entry_hash", *audit_chain.CHAINED_FIELDS)
    cursor = db.execute(f"SELECT {', '.join(columns)} FROM accounts_auditentry ORDER BY id")

    def rows() -> Iterator[dict[str, Any]]:
        for values in cursor:
            row = dict(zip(columns, values, strict=True))
            row["at"] = datetime.fromisoformat(row["at"])
            yield row

    return audit_chain.walk(rows())


def _sqlite_copy(source: sqlite3.Connection, target: Path) -> None:
    """Copy a database into the file ``target`` with SQLite's online backup API (safe while it is in use)."""
    dst = sqlite3.connect(target)
    try:
        source.backup(dst)
        # A single file: the copy does not depend on a write-ahead log beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()


def _sqlite_has_data(path: Path) -> bool:
    if not path.exists():
        return False
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='accounts_clinic'")
        ]
        return bool(names) and db.execute("SELECT EXISTS (SELECT 1 FROM accounts_clinic)").fetchone()[0] == 1
    finally:
        db.close()


# PostgreSQL --------------------------------------------------------------------------------------------------


def _pg_environment() -> tuple[list[str], dict[str, str]]:
    """Connection options for pg_dump/pg_restore from Django's settings (the password through the environment)."""
    s = connection.settings_dict
    args = ["--dbname", s["NAME"]]
    if s.get("HOST"):
        args += ["--host", s["HOST"]]
    if s.get("PORT"):
        args += ["--port", str(s["PORT"])]
    if s.get("USER"):
        args += ["--username", s["USER"]]
    env = dict(os.environ)
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = s["PASSWORD"]
    return args, env


def postgres_manifest() -> Manifest:
    """The manifest of the connected PostgreSQL database, as of the current transaction's snapshot."""
    from needlepoint.accounts.verify import verify_audit_chain

    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        names = [name for (name,) in cursor.fetchall()]
        tables = {}
        for name in names:
            quoted = connection.ops.quote_name(name)
            # Rows as PostgreSQL's own text form, sorted, so the checksum does not depend on physical order.
            cursor.execute(
                f"SELECT count(*), coalesce(encode(sha256(convert_to("
                f"string_agg(t::text, E'\\n' ORDER BY t::text), 'UTF8')), 'hex'), '') FROM {quoted} t"
            )
            rows, checksum = cursor.fetchone()
            tables[name] = {"rows": rows, "checksum": checksum}
        cursor.execute(
            "SELECT tgname FROM pg_trigger JOIN pg_class ON pg_class.oid = tgrelid "
            "WHERE NOT tgisinternal AND relnamespace = current_schema()::regnamespace"
        )
        triggers = [name for (name,) in cursor.fetchall()]
    chain = verify_audit_chain() if "accounts_auditentry" in names else audit_chain.walk([])
    return _manifest("postgresql", tables, triggers, chain)


@contextmanager
def _pg_snapshot() -> Iterator[str]:
    """A read-only repeatable-read transaction whose snapshot pg_dump can share."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        yield cursor.fetchone()[0]


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools)") from exc
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


# The commands ------------------------------------------------------------------------------------------------


def backup(output: Path) -> Manifest:
    """Back the database up to ``output`` and write its manifest beside it; refuses to overwrite a file."""
    if output.exists() or manifest_path(output).exists():
        raise BackupError(f"{output} already exists: choose a new name (backups are never overwritten)")
    output.parent.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        if Path(name).is_file():
            source = sqlite3.connect(f"file:{name}?mode=ro", uri=True)
            try:
                _sqlite_copy(source, output)
            finally:
                source.close()
        else:
            # An in-memory database (the test runner's) is reachable only through Django's own connection.
            connection.ensure_connection()
            _sqlite_copy(connection.connection, output)
        try:
            manifest = sqlite_manifest(output)
        except BackupError:
            output.unlink()
            raise
    elif connection.vendor == "postgresql":
        args, env = _pg_environment()
        with _pg_snapshot() as snapshot:
            manifest = postgres_manifest()
            _run(["pg_dump", "--format=custom", "--snapshot", snapshot, "--file", str(output), *args], env)
    else:
        raise BackupError(f"no backup method for {connection.vendor}")
    manifest_path(output).write_text(manifest.to_json())
    return manifest


def restore(source: Path) -> Manifest:
    """Restore the backup at ``source`` into the configured database, which must hold no data, and check the
    result against the backup's manifest. Returns the manifest of the restored database."""
    expected = Manifest.read(source)
    if expected.vendor != connection.vendor:
        raise BackupError(f"this is a {expected.vendor} backup; the configured database is {connection.vendor}")
    if connection.vendor == "sqlite":
        # Check the copy before touching the database: a damaged backup stops here.
        problems = differences(expected, sqlite_manifest(source))
        if problems:
            raise BackupError("the backup file does not match its manifest: " + "; ".join(problems))
        target = Path(connection.settings_dict["NAME"])
        if _sqlite_has_data(target):
            raise BackupError(f"{target} already holds a clinic's data; restore into a new, empty database")
        connection.close()
        backup_file = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            _sqlite_copy(backup_file, target)
        finally:
            backup_file.close()
        found = sqlite_manifest(target)
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
            if cursor.fetchone()[0]:
                raise BackupError(f"database {connection.settings_dict['NAME']} is not empty; restore into a new one")
        args, env = _pg_environment()
        _run(["pg_restore", "--exit-on-error", "--single-transaction", "--no-owner", *args, str(source)], env)
        connection.close()
        found = postgres_manifest()
    problems = differences(expected, found)
    if found.audit_head != expected.audit_head:
        problems.append("the audit trail's head hash differs")
    if problems:
        raise BackupError("the restored database does not match the backup: " + "; ".join(problems))
    return found
