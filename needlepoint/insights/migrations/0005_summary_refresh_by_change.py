"""The summary tables lose their database foreign keys (derived rows: no per-row checks at COMMIT); each needled
visit's summary row names its episode; a change log, filled by triggers, lets a refresh rebuild only the episodes
changed since the last one. Changes made before the log existed are unknown, so every episode of a clinic that
has a summary is noted as changed: the next refresh rebuilds them all."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

from needlepoint.insights.changes import create_triggers, drop_triggers


def _create_triggers(apps: Any, schema_editor: Any) -> None:
    create_triggers(schema_editor.connection)


def _drop_triggers(apps: Any, schema_editor: Any) -> None:
    drop_triggers(schema_editor.connection)



class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_totp_secret_encrypted'),
        ('insights', '0004_claims_definitions'),
        ('patients', '0013_episode_updated_at'),
        ('visits', '0008_visit_episode_order'),
        ('outcomes', '0009_self_report_pain_drawing'),
    ]

    operations = [
        migrations.AddField(
            model_name='summaryrefresh',
            name='changed_episodes',
            field=models.IntegerField(default=0, help_text='Episodes rebuilt (all of them for a full refresh)'),
        ),
        migrations.AddField(
            model_name='summaryrefresh',
            name='checked_at',
            field=models.DateTimeField(blank=True, help_text='Last time the change log was found empty: the figures are current to then', null=True),
        ),
        migrations.AddField(
            model_name='summaryrefresh',
            name='kind',
            field=models.CharField(default='full', help_text="'full' (every episode) or 'changes' (episodes changed since)", max_length=8),
        ),
        migrations.AddField(
            model_name='summaryrefresh',
            name='seconds',
            field=models.FloatField(blank=True, help_text='Wall time, commit and statistics included', null=True),
        ),
        migrations.AddField(
            model_name='visitsummary',
            name='episode',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.episode'),
        ),
        migrations.AlterField(
            model_name='episodemeasuresummary',
            name='clinic',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.clinic'),
        ),
        migrations.AlterField(
            model_name='episodemeasuresummary',
            name='episode',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.episode'),
        ),
        migrations.AlterField(
            model_name='episoderomsummary',
            name='clinic',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.clinic'),
        ),
        migrations.AlterField(
            model_name='episoderomsummary',
            name='episode',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.episode'),
        ),
        migrations.AlterField(
            model_name='episodesummary',
            name='clinic',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.clinic'),
        ),
        migrations.AlterField(
            model_name='episodesummary',
            name='clinician',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.membership'),
        ),
        migrations.AlterField(
            model_name='episodesummary',
            name='episode',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.episode'),
        ),
        migrations.AlterField(
            model_name='episodesummary',
            name='patient',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.patient'),
        ),
        migrations.AlterField(
            model_name='visitsummary',
            name='clinic',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.clinic'),
        ),
        migrations.AlterField(
            model_name='visitsummary',
            name='clinician',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.membership'),
        ),
        migrations.AlterField(
            model_name='visitsummary',
            name='visit',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='visits.visit'),
        ),
        migrations.CreateModel(
            name='SummaryChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('episode_id', models.BigIntegerField()),
                ('clinic', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.clinic')),
            ],
        ),
        migrations.RunSQL(
            "UPDATE insights_visitsummary SET episode_id = "
            "(SELECT v.episode_id FROM visits_visit v WHERE v.id = insights_visitsummary.visit_id)",
            migrations.RunSQL.noop,
        ),
        migrations.RunPython(_create_triggers, _drop_triggers),
        migrations.RunSQL(
            "INSERT INTO insights_summarychange (clinic_id, episode_id) SELECT e.clinic_id, e.id "
            "FROM patients_episode e WHERE e.clinic_id IN (SELECT r.clinic_id FROM insights_summaryrefresh r)",
            migrations.RunSQL.noop,
        ),
    ]
