from django.apps import AppConfig


class VisitsConfig(AppConfig):
    """Treatment visits: needling, needle accountability, adverse events, CPT, notes and signing."""

    name = "needlepoint.visits"
    label = "visits"

    def ready(self) -> None:
        from needlepoint.visits import panels  # noqa: F401  registers the patient and episode panels
