"""Django's PostgreSQL backend with the parameters bound by the server, and a way round the server's limit.

Settings select this backend whenever the database is PostgreSQL, with server-side binding and psycopg's
prepared statements on (settings.py says why). Bound by the server, a statement takes at most 65,535 parameters
(the protocol counts them in 16 bits), where the values merged into the text by the client had no limit: a
long ``__in`` list (the re-assessment schedule of a large clinic, an import's medical record numbers) would be
refused. Such a statement is merged on the client, as before; nothing else differs from Django's.
"""

from typing import Any

from django.db.backends.postgresql import base
from psycopg import ClientCursor

# The most parameters PostgreSQL binds in one statement.
MOST_BOUND_PARAMETERS = 65_535


class Cursor(base.ServerBindingCursor):  # type: ignore[misc, name-defined]
    """Django's server-binding cursor; a statement with more parameters than the server binds has its values
    merged into the text by the client instead (and is not prepared: its text is its own)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        """Run ``query``, bound by the server unless it has too many parameters."""
        if params is not None and len(params) > MOST_BOUND_PARAMETERS:
            query, params, prepare = ClientCursor(self.connection).mogrify(query, params), None, False
        return super().execute(query, params, prepare=prepare, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL connection, whose server-binding cursors are the one above."""

    def get_connection_params(self) -> dict[str, Any]:
        """Django's parameters, with the cursor above in place of its server-binding one."""
        params: dict[str, Any] = super().get_connection_params()
        if params.get("cursor_factory") is base.ServerBindingCursor:  # type: ignore[attr-defined]
            params["cursor_factory"] = Cursor
        return params
