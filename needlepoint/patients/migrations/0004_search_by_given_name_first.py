"""Search by given name first ("john smi"): a second normalised name column, filled for existing patients,
with its index (and on PostgreSQL a pattern index for LIKE 'abc%', as migration 0002 adds for the first)."""

import unicodedata

from django.db import migrations, models


def _normalise(text):
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.lower().split())


def fill(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    batch = []
    for patient in Patient.objects.only("pk", "given_name", "family_name").iterator(chunk_size=2000):
        patient.search_given_first = _normalise(f"{patient.given_name} {patient.family_name}")
        batch.append(patient)
        if len(batch) == 2000:
            Patient.objects.bulk_update(batch, ["search_given_first"])
            batch = []
    if batch:
        Patient.objects.bulk_update(batch, ["search_given_first"])


def create_pattern_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS patient_given_first_prefix ON patients_patient "
            "(clinic_id, search_given_first varchar_pattern_ops)"
        )


def drop_pattern_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patient_given_first_prefix")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_audit_append_only"),
        ("patients", "0003_birth_date_index_orders_by_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="search_given_first",
            field=models.CharField(default="", editable=False, max_length=210),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["clinic", "search_given_first"], name="patient_clinic_given_first"),
        ),
        migrations.RunPython(create_pattern_index, drop_pattern_index),
    ]
