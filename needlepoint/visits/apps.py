from django.apps import AppConfig


class VisitsConfig(AppConfig):
    """Treatment visits: needling, needle accountability, adverse events, CPT, notes and signing."""

    name = "needlepoint.visits"
    label = "visits"
