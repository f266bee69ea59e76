"""Each summarised episode and needled visit keeps the muscles and techniques needled (``,muscle/technique,``),
so the muscle and technique filters read the summary instead of the records; each episode's range-of-motion
gain per movement and method is kept (``EpisodeMovementSummary``), so the report does not work it out from the
series each time; and each needled visit's adverse events by type and severity are kept with the visit's facts
(``VisitEventSummary``). The rows built before lack these, so the clinics' past refreshes are forgotten: each
clinic is read live (as one never summarised) until its next full refresh, never from rows that lack them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0011_keep_ssns_where_already_held'),
        ('insights', '0005_summary_refresh_by_change'),
        ('patients', '0019_received_record'),
        ('visits', '0008_visit_episode_order'),
    ]

    operations = [
        migrations.AddField(
            model_name='episodesummary',
            name='needling',
            field=models.TextField(blank=True, help_text="Each muscle and technique needled at any of its visits, as ',muscle/technique,...,' (the muscle and technique filters)"),
        ),
        migrations.AddField(
            model_name='visitsummary',
            name='needling',
            field=models.TextField(blank=True, help_text="',muscle/technique,...,' of the visit's entries"),
        ),
        migrations.CreateModel(
            name='EpisodeMovementSummary',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('joint', models.CharField(max_length=30)),
                ('movement', models.CharField(max_length=30)),
                ('method', models.CharField(max_length=12)),
                ('gain', models.FloatField(blank=True, help_text='Degrees, last minus first', null=True)),
                ('percent_gain', models.FloatField(blank=True, help_text='Percent of normal gained', null=True)),
                ('clinic', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.clinic')),
                ('episode', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.episode')),
            ],
            options={
                'indexes': [models.Index(fields=['clinic', 'episode'], name='movement_summary_clinic_ep')],
            },
        ),
        migrations.CreateModel(
            name='VisitEventSummary',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField()),
                ('condition', models.CharField(blank=True, max_length=40, null=True)),
                ('cohort_label', models.CharField(blank=True, max_length=100, null=True)),
                ('needling', models.TextField(blank=True, help_text="',muscle/technique,...,' of the visit's entries")),
                ('event_type', models.CharField(max_length=40)),
                ('severity', models.CharField(max_length=20)),
                ('events', models.IntegerField(help_text='Events of this type and severity on the visit')),
                ('clinic', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.clinic')),
                ('clinician', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.membership')),
                ('episode', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='patients.episode')),
                ('visit', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='visits.visit')),
            ],
            options={
                'indexes': [models.Index(fields=['clinic', 'started_at'], name='event_summary_clinic_time')],
            },
        ),
        migrations.RunSQL("DELETE FROM insights_summaryrefresh", migrations.RunSQL.noop),
    ]
