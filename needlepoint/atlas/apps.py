from django.apps import AppConfig


class AtlasConfig(AppConfig):
    """Trigger-point atlas: body regions, muscles, referral zones, hazards, the matcher, and assessments."""

    name = "needlepoint.atlas"
    label = "atlas"

    def ready(self) -> None:
        """Register the episode panel."""
        from needlepoint.atlas import panels  # noqa: F401  registers the episode panel
