"""The audit trail becomes tamper-evident: every entry carries a SHA-256 hash chained to the entry before it.

Existing entries are chained in id order. The append-only triggers are lifted only for this back-fill, in the
migration's one transaction, and put back at once.
"""

import importlib

from django.db import migrations, models

from needlepoint.accounts import audit_chain

append_only = importlib.import_module("needlepoint.accounts.migrations.0002_audit_append_only")
TRIGGERS_DOWN = {"sqlite": append_only.SQLITE_DOWN, "postgresql": append_only.POSTGRES_DOWN}
TRIGGERS_UP = {"sqlite": append_only.SQLITE_UP, "postgresql": append_only.POSTGRES_UP}


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


def chain_existing_entries(apps, schema_editor):
    AuditEntry = apps.get_model("accounts", "AuditEntry")
    rows = AuditEntry.objects.using(schema_editor.connection.alias).order_by("pk")
    columns = ("pk", *audit_chain.CHAINED_FIELDS)
    previous = audit_chain.GENESIS
    with schema_editor.connection.cursor() as cursor:
        for values in rows.values_list(*columns).iterator(chunk_size=2000):
            row = dict(zip(columns, values, strict=True))
            digest = audit_chain.entry_hash(previous, row)
            cursor.execute(
                "UPDATE accounts_auditentry SET previous_hash = %s, entry_hash = %s WHERE id = %s",
                [previous, digest, row["pk"]],
            )
            previous = digest


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_clinic_minimum_needling_age")]

    operations = [
        # SQLite adds these columns by rebuilding the table, which drops its triggers anyway.
        migrations.RunPython(_run(TRIGGERS_DOWN), _run(TRIGGERS_UP)),
        migrations.AddField(
            model_name="auditentry",
            name="previous_hash",
            field=models.CharField(blank=True, help_text="Hash of the entry before this one", max_length=64),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="entry_hash",
            field=models.CharField(blank=True, help_text="SHA-256 of this entry and previous_hash", max_length=64),
        ),
        migrations.RunPython(chain_existing_entries, migrations.RunPython.noop),
        migrations.RunPython(_run(TRIGGERS_UP), _run(TRIGGERS_DOWN)),
    ]
