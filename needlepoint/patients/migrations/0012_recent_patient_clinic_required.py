"""Every recent-patient row now has its clinic (0011 filled it): the column becomes required.

A migration of its own because PostgreSQL refuses ALTER TABLE while the fill's deferred foreign-key checks are
pending in the same transaction.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("patients", "0011_recent_patient_clinic")]

    operations = [
        migrations.AlterField(
            model_name="recentpatient",
            name="clinic",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.clinic"
            ),
        ),
    ]
