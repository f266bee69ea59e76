"""The shared cache table (settings.CACHES): plots drawn once for every worker process, kept across restarts."""

from django.conf import settings
from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    """Create the database cache's table on the database being migrated (idempotent)."""
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    """Drop it again; the cache holds nothing that cannot be drawn anew."""
    table = settings.CACHES["default"]["LOCATION"]
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(table)}")


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0003_self_report_device")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
