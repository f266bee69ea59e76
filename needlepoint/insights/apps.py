from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Clinic-wide analytics and the benefit-claims report."""

    name = "needlepoint.insights"
    label = "insights"
