"""The public dry-needling handout: no sign-in, the risks from the consent text, after-care, printable."""

from __future__ import annotations

from django.test import Client


def test_anyone_can_read_the_handout(db) -> None:  # type: ignore[no-untyped-def]
    page = Client().get("/about-dry-needling/")
    assert page.status_code == 200
    text = page.content.decode()
    for heading in ("What dry needling is", "What to expect", "The risks", "After-care"):
        assert heading in text
    assert "Pneumothorax (a collapsed lung)" in text and "Get emergency help at once" in text
    assert "window.print()" in text and "@media print" in text
