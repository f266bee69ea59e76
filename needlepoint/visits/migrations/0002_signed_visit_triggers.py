"""Database triggers: a signed visit and its needling entries cannot be changed or deleted by any client,
addenda and adverse-event follow-ups are append-only, adverse events are never deleted.

The SQL lives in ``needlepoint.visits.triggers`` so tests can show it and check it on both databases.
"""

from django.db import migrations

from needlepoint.visits.triggers import create_triggers, drop_triggers


def _create(apps, schema_editor):
    create_triggers(schema_editor.connection)


def _drop(apps, schema_editor):
    drop_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_initial")]

    operations = [migrations.RunPython(_create, _drop)]
