from django.apps import AppConfig


class AtlasConfig(AppConfig):
    """Trigger-point atlas: body regions, muscles, referral zones, hazards, and the matcher."""

    name = "needlepoint.atlas"
    label = "atlas"
