from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    """Outcome measures: instruments, scoring, observations, progress and patient self-report."""

    name = "needlepoint.outcomes"
    label = "outcomes"

    def ready(self) -> None:
        """Register the outcomes panels (episode page, dashboard) and the receivers that keep the dashboard's stored
        re-assessment board current."""
        from needlepoint.outcomes import board_cache, panels  # noqa: F401  (panels registers the panels)

        board_cache.connect()
