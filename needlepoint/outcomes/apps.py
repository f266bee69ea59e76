from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    """Outcome measures: instruments, scoring, observations, progress and patient self-report."""

    name = "needlepoint.outcomes"
    label = "outcomes"

    def ready(self) -> None:
        """Register the outcomes panels (episode page, dashboard) and the receivers that keep the dashboard's stored
        re-assessment board and the progress page's stored body current."""
        from needlepoint.outcomes import board_cache, panels  # noqa: F401  (panels registers the panels)
        from needlepoint.outcomes.progress import PROGRESS_PAGE_CLINIC_ROWS, PROGRESS_PAGE_ROWS
        from needlepoint.patients import page

        board_cache.connect()
        page.shows_patient_rows("progress-page", PROGRESS_PAGE_ROWS)
        page.shows_clinic_rows("progress-page", PROGRESS_PAGE_CLINIC_ROWS)
