"""Recent patients carry their clinic, like every other patient-scoped row (the distribution key of scaling.md)."""

import django.db.models.deletion
from django.db import migrations, models


def fill_clinic(apps, schema_editor):
    """Each row's clinic is its patient's."""
    RecentPatient = apps.get_model("patients", "RecentPatient")
    Patient = apps.get_model("patients", "Patient")
    RecentPatient.objects.update(
        clinic_id=models.Subquery(Patient.objects.filter(pk=models.OuterRef("patient_id")).values("clinic_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_passkeys"),
        ("patients", "0010_patient_archive_and_legal_hold"),
    ]

    operations = [
        migrations.AddField(
            model_name="recentpatient",
            name="clinic",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.clinic"
            ),
        ),
        migrations.RunPython(fill_clinic, migrations.RunPython.noop),
    ]
