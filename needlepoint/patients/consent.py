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


def consent_text_in(text: dict[str, Any], language: str) -> dict[str, Any]:
    """A default consent edition in ``language``: its translation (title, body, risks with the English
    sources) where the data file has one, else the English edition itself."""
    translated = text.get("translations", {}).get(language)
    if not translated:
        return text
    sources = {risk["code"]: risk.get("source", "") for risk in text["material_risks"]}
    risks = [{**risk, "source": sources.get(risk["code"], "")} for risk in translated["material_risks"]]
    return {**text, "title": translated["title"], "body": translated["body"], "material_risks": risks}


def patient_consent_wording(text: ConsentText, language: str) -> dict[str, Any] | None:
    """The clinic's consent text in the patient's language when it is a default edition unchanged and that
    edition has a translation; None when the patient reads it as the clinic wrote it (its own text, or English)."""
    if language == "en":
        return None
    for edition in default_consent_editions():
        same = edition["title"] == text.title and edition["body"] == text.body
        if same and edition["material_risks"] == text.material_risks and language in edition.get("translations", {}):
            return consent_text_in(edition, language)
    return None
