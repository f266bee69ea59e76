"""The public dry-needling handout: no sign-in, the risks from the consent text, after-care, printable."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders
from django.test import Client


def test_anyone_can_read_the_handout(db) -> None:
    page = Client().get("/about-dry-needling/")
    assert page.status_code == 200
    text = page.content.decode()
    for heading in ("What dry needling is", "What to expect", "The risks", "After-care"):
        assert heading in text
    assert "Pneumothorax (a collapsed lung)" in text and "Get emergency help at once" in text
    # Printable: a Print button (print.js) and print rules in the page's stylesheet (no inline script or style).
    assert "data-print" in text and "/static/css/outcomes.css" in text
    assert "@media print" in Path(finders.find("css/outcomes.css")).read_text()


def test_the_handout_names_delayed_pneumothorax_where_and_what_to_do(db) -> None:
    text = Client().get("/about-dry-needling/").content.decode()

    assert "delayed pneumothorax" in text and "up to two days later" in text
    assert "base of the neck" in text and "upper back" in text
    assert "chest pain" in text and "shortness of breath" in text and "emergency" in text
    for risk in ("spinal cord", "A needle breaking", "Puncture of an organ"):
        assert risk in text
