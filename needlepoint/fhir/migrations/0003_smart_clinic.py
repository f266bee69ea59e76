"""Every SMART record carries its clinic, like every other table of ours (docs/scaling.md): added, filled from
the app's clinic, then required."""

import django.db.models.deletion
from django.db import migrations, models

MODELS = ("appauthorisation", "authorisedtoken", "ehrlaunch", "assertionseen")


def fill_from_the_app(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("fhir", name)
        for row in model.objects.select_related("app").only("pk", "app__clinic_id"):
            model.objects.filter(pk=row.pk).update(clinic_id=row.app.clinic_id)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_totp_secret_encrypted"),
        ("fhir", "0002_smart_apps"),
    ]

    operations = [
        *[
            migrations.AddField(
                model_name=name,
                name="clinic",
                field=models.ForeignKey(
                    null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.clinic"
                ),
            )
            for name in MODELS
        ],
        migrations.RunPython(fill_from_the_app, migrations.RunPython.noop),
        *[
            migrations.AlterField(
                model_name=name,
                name="clinic",
                field=models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.clinic"
                ),
            )
            for name in MODELS
        ],
    ]
