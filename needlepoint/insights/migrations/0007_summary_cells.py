"""Summary cells: the report's sums kept per month and group by the refresh (``insights/cells.py``), with each
summarised episode's month and day opened and whether it enters the cells, each summarised visit's month, the
clock each refresh read the days on, and the months whose cells a change made stale. The rows built before lack
these, so the clinics' past refreshes are forgotten, as in 0006: each clinic is read live (as one never
summarised) until its next refresh, never from rows that lack them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0011_keep_ssns_where_already_held'),
        ('insights', '0006_summary_needling_and_movements'),
        ('patients', '0020_consent_withdrawn'),
    ]

    operations = [
        migrations.CreateModel(
            name='SummaryCell',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('figure', models.CharField(max_length=24)),
                ('month', models.IntegerField(help_text='Year and month opened (episodes) or given (visits), UTC')),
                ('condition', models.CharField(blank=True, max_length=40, null=True)),
                ('cohort_label', models.CharField(blank=True, max_length=100, null=True)),
                ('needled', models.SmallIntegerField(db_default=0, help_text='1: needled at the first visit')),
                ('k1', models.CharField(blank=True, db_default='', max_length=200)),
                ('k2', models.CharField(blank=True, db_default='', max_length=40)),
                ('k3', models.CharField(blank=True, db_default='', max_length=40)),
                ('v1', models.FloatField(blank=True, null=True)),
                ('v2', models.FloatField(blank=True, null=True)),
                ('v3', models.FloatField(blank=True, null=True)),
                ('v4', models.FloatField(blank=True, null=True)),
                ('v5', models.FloatField(blank=True, null=True)),
                ('v6', models.FloatField(blank=True, null=True)),
                ('v7', models.FloatField(blank=True, null=True)),
                ('v8', models.FloatField(blank=True, null=True)),
                ('v9', models.FloatField(blank=True, null=True)),
                ('v10', models.FloatField(blank=True, null=True)),
                ('v11', models.FloatField(blank=True, null=True)),
                ('v12', models.FloatField(blank=True, null=True)),
                ('v13', models.FloatField(blank=True, null=True)),
                ('v14', models.FloatField(blank=True, null=True)),
                ('v15', models.FloatField(blank=True, null=True)),
                ('v16', models.FloatField(blank=True, null=True)),
                ('v17', models.FloatField(blank=True, null=True)),
                ('v18', models.FloatField(blank=True, null=True)),
                ('v19', models.FloatField(blank=True, null=True)),
                ('v20', models.FloatField(blank=True, null=True)),
                ('v21', models.FloatField(blank=True, null=True)),
                ('v22', models.FloatField(blank=True, null=True)),
                ('v23', models.FloatField(blank=True, null=True)),
                ('v24', models.FloatField(blank=True, null=True)),
                ('v25', models.FloatField(blank=True, null=True)),
                ('v26', models.FloatField(blank=True, null=True)),
                ('v27', models.FloatField(blank=True, null=True)),
                ('v28', models.FloatField(blank=True, null=True)),
                ('v29', models.FloatField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='SummaryStaleMonth',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(help_text="'episodes' (by month opened) or 'visits' (given)", max_length=8)),
                ('month', models.IntegerField()),
            ],
        ),
        migrations.AddField(
            model_name='episodesummary',
            name='in_cells',
            field=models.BooleanField(default=False, help_text="Added up in the summary cells: the patient's only episode in the clinic (``SummaryCell``)"),
        ),
        migrations.AddField(
            model_name='episodesummary',
            name='opened_month',
            field=models.IntegerField(default=0, help_text='Year and month opened (UTC), as 202606'),
        ),
        migrations.AddField(
            model_name='episodesummary',
            name='opened_on',
            field=models.DateField(blank=True, help_text="The day opened on the clinic's clock (TIME_ZONE)", null=True),
        ),
        migrations.AddField(
            model_name='summaryrefresh',
            name='cells_key',
            field=models.CharField(blank=True, help_text='The definitions the summary cells were added up with (none: no cells kept)', max_length=64),
        ),
        migrations.AddField(
            model_name='summaryrefresh',
            name='time_zone',
            field=models.CharField(blank=True, help_text="The clinic's clock (TIME_ZONE) the summary's days opened were read on", max_length=64),
        ),
        migrations.AddField(
            model_name='visiteventsummary',
            name='month',
            field=models.IntegerField(default=0, help_text='Year and month of the visit (UTC), as 202606'),
        ),
        migrations.AddField(
            model_name='visitsummary',
            name='month',
            field=models.IntegerField(default=0, help_text='Year and month of the visit (UTC), as 202606'),
        ),
        migrations.AddIndex(
            model_name='episodesummary',
            index=models.Index(fields=['clinic', 'patient'], name='episode_summary_clinic_pat'),
        ),
        migrations.AddIndex(
            model_name='episodesummary',
            index=models.Index(fields=['clinic', 'opened_month'], name='episode_summary_clinic_month'),
        ),
        migrations.AddIndex(
            model_name='episodesummary',
            index=models.Index(fields=['clinic', 'opened_at'], include=('condition', 'needled', 'discharge_date', 'opened_on', 'goals_met', 'clinician', 'cohort_label'), name='episode_summary_in_care'),
        ),
        migrations.AddField(
            model_name='summarycell',
            name='clinic',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.clinic'),
        ),
        migrations.AddField(
            model_name='summarycell',
            name='clinician',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.membership'),
        ),
        migrations.AddField(
            model_name='summarystalemonth',
            name='clinic',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.clinic'),
        ),
        migrations.AddIndex(
            model_name='summarycell',
            index=models.Index(fields=['clinic', 'figure', 'month'], name='summary_cell_clinic_figure'),
        ),
        migrations.AddIndex(
            model_name='summarystalemonth',
            index=models.Index(fields=['clinic', 'kind'], name='summary_stale_clinic_kind'),
        ),
        migrations.RunSQL("DELETE FROM insights_summaryrefresh", migrations.RunSQL.noop),
    ]
