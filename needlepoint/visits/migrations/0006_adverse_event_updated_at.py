"""Adverse events get ``updated_at`` (FHIR meta.lastUpdated). An event changes only when it is recorded and when
a follow-up is written, so existing rows take the later of their recording and their last follow-up."""

from django.db import migrations, models
from django.db.models import Max

from needlepoint.visits.triggers import create_triggers, drop_triggers


def _drop_triggers(apps, schema_editor):
    drop_triggers(schema_editor.connection)


def _create_triggers(apps, schema_editor):
    create_triggers(schema_editor.connection)


def backfill(apps, schema_editor):
    """Each existing event's last follow-up or closing time, else the time it was recorded."""
    AdverseEvent = apps.get_model("visits", "AdverseEvent")
    rows = AdverseEvent.objects.filter(updated_at__isnull=True).annotate(last_follow_up=Max("follow_ups__at"))
    for event in rows.iterator():
        updated = max(filter(None, (event.last_follow_up, event.closed_at, event.recorded_at)))
        AdverseEvent.objects.filter(pk=event.pk).update(updated_at=updated)


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0005_visit_take_over"),
    ]

    # SQLite rebuilds visits_adverseevent to add the column, which drops the triggers naming it (the table
    # may not be deleted from): drop them for the rebuild and create them again after, as 0004 does.
    operations = [
        migrations.RunPython(_drop_triggers, _create_triggers),
        migrations.AddField(
            model_name="adverseevent",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(_create_triggers, _drop_triggers),
    ]
