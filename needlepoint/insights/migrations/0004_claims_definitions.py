"""The claims' new definitions need new per-episode facts (patient, treated side, pain before visits 2 and 3, the
cohort fixed at the first visit): summaries built under the old definitions are removed, so the report reads the
records live until the next ``needlepoint insights refresh``."""

import django.db.models.deletion
from django.db import migrations, models


def forget_old_summaries(apps, schema_editor):
    """Delete every summary row and refresh record made under the old definitions."""
    for name in ("EpisodeRomSummary", "EpisodeMeasureSummary", "EpisodeSummary", "VisitSummary", "SummaryRefresh"):
        apps.get_model("insights", name).objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('insights', '0003_visit_summary'),
        ('patients', '0010_patient_archive_and_legal_hold'),
    ]

    operations = [
        migrations.RunPython(forget_old_summaries, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='episodesummary',
            name='visit2_pain_after',
        ),
        migrations.AddField(
            model_name='episodesummary',
            name='patient',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.patient'),
        ),
        migrations.AddField(
            model_name='episodesummary',
            name='side',
            field=models.CharField(blank=True, help_text="The episode's treated side", max_length=10),
        ),
        migrations.AddField(
            model_name='episodesummary',
            name='visit2_pain_before',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='episodesummary',
            name='visit3_pain_before',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='episodesummary',
            name='needled',
            field=models.BooleanField(help_text='Needles inserted at the first visit (the cohort, fixed at baseline)'),
        ),
    ]
