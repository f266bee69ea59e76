"""Needlepoint's SQLite database backend: Django's own, with a flush that passes the append-only triggers."""
