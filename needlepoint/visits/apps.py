from django.apps import AppConfig


class VisitsConfig(AppConfig):
    """Treatment visits: needling, needle accountability, adverse events, CPT, notes and signing."""

    name = "needlepoint.visits"
    label = "visits"

    def ready(self) -> None:
        from needlepoint.visits import dashboard, panels  # noqa: F401  panels registers the patient and episode panels

        dashboard.connect()
