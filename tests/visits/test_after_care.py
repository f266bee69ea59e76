"""The after-care sheet: offered once needling is recorded, printable, readable by front desk, audited as a read."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders

from needlepoint.accounts.models import AuditEntry
from needlepoint.visits.aftercare import after_care_sections
from tests.conftest import client_for
from tests.visits.visit_helpers import add, signed_visit


def sheet_url(visit) -> str:
    return f"/visits/{visit.pk}/after-care/"


def test_the_sheet_says_what_is_normal_what_to_do_and_when_to_seek_urgent_care(clinician, visit) -> None:
    add(clinician, visit)

    page = client_for(clinician).get(sheet_url(visit))
    text = page.content.decode()

    assert page.status_code == 200
    assert "Jane Doe" in text and "Test Clinic" in text
    for heading in ("What is normal", "What to do", "Get urgent medical help", "Call us", "Who to call"):
        assert heading in text
    assert "up to a day or two" in text and "bruise" in text
    assert "up to two days later" in text and "base of the neck" in text
    assert "Breathlessness, chest pain" in text and "signs of infection" in text
    # Printable: a Print button (print.js) and print rules in the page's stylesheet (no inline script or style).
    assert "data-print" in text and "/static/css/after_care.css" in text
    assert "@media print" in Path(finders.find("css/after_care.css")).read_text()
    assert 'href="/references/#S130"' in text


def test_the_sheet_shows_nothing_from_the_clinical_record(clinician, visit) -> None:
    add(clinician, visit, patient_response="Familiar pain reproduced")

    text = client_for(clinician).get(sheet_url(visit)).content.decode()

    assert "Infraspinatus" not in text and "Familiar pain reproduced" not in text and "M54.2" not in text


def test_front_desk_may_print_it_and_the_read_is_audited(clinician, front_desk, visit) -> None:
    add(clinician, visit)

    page = client_for(front_desk).get(sheet_url(visit))

    assert page.status_code == 200
    entry = AuditEntry.objects.filter(user=front_desk.user, action="read", object_id=str(visit.pk)).get()
    assert entry.object_type == "visits.Visit" and entry.summary == "after-care sheet"
    assert entry.patient_id == visit.patient_id


def test_a_visit_without_needling_has_no_sheet(clinician, visit) -> None:
    page = client_for(clinician).get(sheet_url(visit))

    assert page.status_code == 404


def test_the_visit_page_offers_the_sheet_once_needling_is_recorded(clinician, visit) -> None:
    client = client_for(clinician)
    assert 'data-testid="after-care-link"' not in client.get(f"/visits/{visit.pk}/").content.decode()

    add(clinician, visit)

    assert f'href="{sheet_url(visit)}"' in client.get(f"/visits/{visit.pk}/").content.decode()


def test_the_signed_visit_offers_the_sheet(clinician, visit) -> None:
    signed = signed_visit(clinician, visit)

    page = client_for(clinician).get(f"/visits/{signed.pk}/").content.decode()

    assert f'href="{sheet_url(signed)}"' in page
    assert client_for(clinician).get(sheet_url(signed)).status_code == 200


def test_another_clinic_gets_not_found(outsider, clinician, visit) -> None:
    add(clinician, visit)

    page = client_for(outsider).get(sheet_url(visit))

    assert page.status_code == 404 and b"Jane Doe" not in page.content


def test_every_item_of_the_sheet_names_a_source_or_says_it_is_general_advice() -> None:
    for section in after_care_sections():
        for item in section["items"]:
            assert item["source"] or item.get("unverified"), item["text"]
