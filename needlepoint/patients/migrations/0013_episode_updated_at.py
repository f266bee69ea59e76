"""Episodes get ``updated_at`` (FHIR meta.lastUpdated). Existing rows take the time of their last recorded write
in the audit trail (a discharge), else the time the episode was opened."""

from django.db import migrations, models
from django.db.models import Max


def backfill(apps, schema_editor):
    """Each existing episode's last write from the audit trail, else its opening time."""
    Episode = apps.get_model("patients", "Episode")
    AuditEntry = apps.get_model("accounts", "AuditEntry")
    writes = AuditEntry.objects.filter(object_type="patients.Episode", action__in=("create", "update"))
    for episode in Episode.objects.filter(updated_at__isnull=True).iterator():
        written = writes.filter(object_id=str(episode.pk)).aggregate(last=Max("at"))["last"]
        updated = max(written, episode.opened_at) if written else episode.opened_at
        Episode.objects.filter(pk=episode.pk).update(updated_at=updated)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_totp_secret_encrypted"),
        ("patients", "0012_recent_patient_clinic_required"),
    ]

    operations = [
        migrations.AddField(
            model_name="episode",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
