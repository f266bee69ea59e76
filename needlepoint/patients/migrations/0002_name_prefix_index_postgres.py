"""On PostgreSQL, an index that serves name-prefix search (LIKE 'smi%') under any collation."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS patient_name_prefix ON patients_patient "
            "(clinic_id, search_name varchar_pattern_ops)"
        )
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS patient_mrn_prefix ON patients_patient (clinic_id, mrn varchar_pattern_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patient_name_prefix")
        schema_editor.execute("DROP INDEX IF EXISTS patient_mrn_prefix")


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
