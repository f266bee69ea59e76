from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    """Outcome measures: instruments, scoring, observations, progress and patient self-report."""

    name = "needlepoint.outcomes"
    label = "outcomes"

    def ready(self) -> None:
        """Register the outcomes panel on the episode page."""
        from needlepoint.outcomes import panels  # noqa: F401  (registers the episode panel)
