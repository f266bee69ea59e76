"""Patients found at once: phone search columns (digits, and digits reversed for the number's end), search
names without apostrophes or commas (so "O’Brien" = "O'Brien" = "OBrien"), and each member's recent patients.

The fill repeats the model's normalisation here, frozen, as migrations must not import the code they migrate.
"""

import re
import unicodedata

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

APOSTROPHES = "'\u2018\u2019\u02bc\u2032\u0060\u00b4"
DROPPED = str.maketrans({ch: "" for ch in APOSTROPHES} | {",": " "})
NON_DIGITS = re.compile(r"[^0-9]")


def _normalise(text):
    decomposed = unicodedata.normalize("NFKD", text.translate(DROPPED))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.translate(DROPPED).lower().split())


def fill(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    fields = ["search_name", "search_given_first", "phone_digits", "phone_digits_reversed"]
    batch = []
    for patient in Patient.objects.only("pk", "given_name", "family_name", "phone").iterator(chunk_size=2000):
        patient.search_name = _normalise(f"{patient.family_name} {patient.given_name}")
        patient.search_given_first = _normalise(f"{patient.given_name} {patient.family_name}")
        patient.phone_digits = NON_DIGITS.sub("", patient.phone)
        patient.phone_digits_reversed = patient.phone_digits[::-1]
        batch.append(patient)
        if len(batch) == 2000:
            Patient.objects.bulk_update(batch, fields)
            batch = []
    if batch:
        Patient.objects.bulk_update(batch, fields)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_clinic_minimum_needling_age"),
        ("patients", "0008_consent_text_v2"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecentPatient",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("opened_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name="patient",
            name="phone_digits",
            field=models.CharField(blank=True, default="", editable=False, max_length=40),
        ),
        migrations.AddField(
            model_name="patient",
            name="phone_digits_reversed",
            field=models.CharField(blank=True, default="", editable=False, max_length=40),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["clinic", "phone_digits"], name="patient_clinic_phone"),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["clinic", "phone_digits_reversed"], name="patient_clinic_phone_end"),
        ),
        migrations.AddField(
            model_name="recentpatient",
            name="membership",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.membership"
            ),
        ),
        migrations.AddField(
            model_name="recentpatient",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="patients.patient"
            ),
        ),
        migrations.AddIndex(
            model_name="recentpatient",
            index=models.Index(fields=["membership", "-opened_at"], name="recent_patient_member_time"),
        ),
        migrations.AddConstraint(
            model_name="recentpatient",
            constraint=models.UniqueConstraint(fields=("membership", "patient"), name="recent_patient_once_per_member"),
        ),
    ]
