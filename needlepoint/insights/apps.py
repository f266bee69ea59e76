from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class InsightsConfig(AppConfig):
    """Clinic-wide analytics and the benefit-claims report."""

    name = "needlepoint.insights"
    label = "insights"

    def ready(self) -> None:
        post_migrate.connect(_restore_change_triggers, sender=self)


def _restore_change_triggers(using: str = "default", **kwargs: Any) -> None:
    """Create the change-log triggers again after every migrate: SQLite drops a table's triggers whenever a
    migration rebuilds the table (to add or alter a column), and the incremental refresh must see every change."""
    from django.db import connections

    from needlepoint.insights.changes import CHANGE_LOG, create_triggers, source_tables

    connection = connections[using]
    present = set(connection.introspection.table_names())
    if CHANGE_LOG in present and set(source_tables()) <= present:
        create_triggers(connection)
