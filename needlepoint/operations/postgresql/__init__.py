"""Needlepoint's PostgreSQL database backend: Django's own, its statements bound and prepared by the server."""
