from django.apps import AppConfig


class VisitsConfig(AppConfig):
    """Treatment visits: needling, needle accountability, adverse events, CPT, notes and signing."""

    name = "needlepoint.visits"
    label = "visits"

    def ready(self) -> None:
        """Register the patient and episode panels, and connect the receivers that keep the dashboard's stored lists
        and a signed visit's stored page current."""
        from needlepoint.patients import page
        from needlepoint.visits import dashboard, panels  # noqa: F401  panels registers the patient and episode panels
        from needlepoint.visits.read_model import VISIT_PAGE_ROWS

        dashboard.connect()
        page.shows_patient_rows("visit-page", VISIT_PAGE_ROWS)
