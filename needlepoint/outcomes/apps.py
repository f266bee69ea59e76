from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    """Outcome measures: instruments, scoring, observations, progress and patient self-report."""

    name = "needlepoint.outcomes"
    label = "outcomes"
