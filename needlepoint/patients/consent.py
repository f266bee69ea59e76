"""The clinic's current consent text, created from the default data file when a clinic has none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from needlepoint.accounts.models import Clinic
from needlepoint.patients.models import ConsentText

DEFAULT_TEXT_FILE = Path(__file__).parent / "data" / "consent_text.json"


def default_consent_editions() -> list[dict[str, Any]]:
    """Every edition of the default consent text, oldest first (title, body, material risks)."""
    editions: list[dict[str, Any]] = json.loads(DEFAULT_TEXT_FILE.read_text(encoding="utf-8"))["editions"]
    return editions


def default_consent_text() -> dict[str, Any]:
    """The newest edition of the default consent text: what a new clinic starts with."""
    return default_consent_editions()[-1]


def current_consent_text(clinic: Clinic) -> ConsentText:
    """The clinic's current consent text version (version 1 from the newest default edition if none yet)."""
    text = ConsentText.objects.filter(clinic=clinic, is_current=True).first()
    if text is not None:
        return text
    default = default_consent_text()
    text, _ = ConsentText.objects.get_or_create(
        clinic=clinic,
        version=1,
        defaults={
            "title": default["title"],
            "body": default["body"],
            "material_risks": default["material_risks"],
            "is_current": True,
        },
    )
    return text
