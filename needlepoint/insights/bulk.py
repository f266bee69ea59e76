"""Fast bulk inserts for generated and imported data: COPY on PostgreSQL, one multi-row statement per batch on
SQLite.

Rows are tuples in the order of the columns the caller names (attribute names such as ``clinic_id``); every
other column takes its model default, computed once. Values must already be what the database stores: aware
datetimes, dates, numbers, text, and JSON as text. Model ``save`` methods and signals do not run, so callers
write their own audit entry, as the demo builder does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max
from django.utils import timezone

SQLITE_MAX_VARIABLES = 30_000


class BulkWriter:
    """Writes rows of one model fast; fills the columns the caller does not name with the model's defaults."""

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        self.model = model
        self.table = model._meta.db_table
        fields = {field.attname: field for field in model._meta.concrete_fields}
        unknown = [name for name in columns if name not in fields]
        if unknown:
            raise ValueError(f"{model._meta.label} has no column(s) {', '.join(unknown)}.")
        self.given = tuple(columns)
        self.filled = tuple(name for name in fields if name not in columns and not fields[name].primary_key)
        self.defaults = tuple(_default(fields[name]) for name in self.filled)
        self.columns = self.given + self.filled
        self.is_postgres = connection.vendor == "postgresql"
        self.rows_written = 0
        names = ", ".join(connection.ops.quote_name(fields[name].column) for name in self.columns)
        self._copy_sql = f"COPY {connection.ops.quote_name(self.table)} ({names}) FROM STDIN"
        self._insert_prefix = f"INSERT INTO {connection.ops.quote_name(self.table)} ({names}) VALUES "
        self._sqlite_batch = max(1, SQLITE_MAX_VARIABLES // len(self.columns))

    def write(self, rows: Iterable[Sequence[Any]]) -> int:
        """Insert ``rows`` (tuples in the order of the named columns); returns how many were written."""
        count = 0
        with connection.cursor() as cursor:
            if self.is_postgres:
                with cursor.cursor.copy(self._copy_sql) as copy:
                    for row in rows:
                        copy.write_row((*row, *self.defaults))
                        count += 1
            else:
                batch: list[Any] = []
                size = 0
                for row in rows:
                    batch.extend(_sqlite_value(value) for value in (*row, *self.defaults))
                    size += 1
                    count += 1
                    if size == self._sqlite_batch:
                        self._sqlite_insert(cursor, batch, size)
                        batch, size = [], 0
                if size:
                    self._sqlite_insert(cursor, batch, size)
        self.rows_written += count
        return count

    def _sqlite_insert(self, cursor: Any, values: list[Any], rows: int) -> None:
        one = "(" + ", ".join("?" * len(self.columns)) + ")"
        # The driver's own cursor: Django's debug wrapper would keep a copy of every 30,000-value statement.
        cursor.cursor.execute(self._insert_prefix + ", ".join([one] * rows), values)


def next_id(model: type[models.Model]) -> int:
    """The first free primary key of ``model``'s table (ids are given explicitly so rows can refer to each other)."""
    return int(model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


def reset_sequences(*model_classes: type[models.Model]) -> None:
    """After explicit ids, move PostgreSQL's id sequences past them (SQLite needs nothing)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_classes))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def analyse(*model_classes: type[models.Model]) -> None:
    """Refresh the query planner's statistics after a bulk load, so reports get good plans at once."""
    with connection.cursor() as cursor:
        for model in model_classes:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def as_json(value: Any) -> str:
    """JSON text as the database stores a JSONField."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _default(field: models.Field[Any, Any]) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    if field.has_default():
        value = field.get_default()
        return as_json(value) if isinstance(field, models.JSONField) else value
    if field.null:
        return None
    if isinstance(field, models.CharField | models.TextField) and field.blank:
        return ""
    raise ValueError(f"{field.model._meta.label}.{field.name} has no default; name it among the columns.")


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
