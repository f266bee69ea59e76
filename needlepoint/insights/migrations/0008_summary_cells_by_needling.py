"""Summary cells per muscle and technique needled (``SummaryCell.needling``), so that a report filtered on either
reads cells too. The cells' fingerprint changes with their statements, so the cells kept before are never read
again: the next refresh adds every cell up anew, and until then reports read the rows."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0011_keep_ssns_where_already_held'),
        ('insights', '0007_summary_cells'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='summarycell',
            name='summary_cell_clinic_figure',
        ),
        migrations.AddField(
            model_name='summarycell',
            name='needling',
            field=models.CharField(blank=True, db_default='', help_text="'' for every episode or visit; m:<muscle> or t:<technique> for those needled so", max_length=120),
        ),
        migrations.AddIndex(
            model_name='summarycell',
            index=models.Index(fields=['clinic', 'figure', 'needling', 'month'], name='summary_cell_clinic_figure_key'),
        ),
    ]
