"""The clinic's letterhead: clinic admins edit it, each change is audited, bad input changes nothing, and the
printed documents carry it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from needlepoint.accounts.access import AccessDenied
from needlepoint.accounts.actions import set_letterhead
from needlepoint.accounts.models import AuditEntry, Clinic
from tests.conftest import client_for

GOOD = {
    "name": "Quay Physio",
    "address": "1 Quay Road\n\n  Portland, ME 04101 ",
    "phone": "(207) 555-0100",
    "email": "desk@quay.example.org",
    "website": "https://quay.example.org",
}


def test_an_admin_sets_the_letterhead_and_it_is_audited(clinic_admin, clinic) -> None:
    response = client_for(clinic_admin).post("/clinic/letterhead/", GOOD)
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.name == "Quay Physio" and clinic.address == "1 Quay Road\nPortland, ME 04101"
    assert clinic.contact_lines == [
        "1 Quay Road",
        "Portland, ME 04101",
        "Phone (207) 555-0100 · desk@quay.example.org · https://quay.example.org",
    ]
    entry = AuditEntry.objects.get(action="update", summary__startswith="letterhead")
    assert entry.summary == "letterhead: name, address, phone, email, website changed"
    page = client_for(clinic_admin).get("/clinic/letterhead/").content.decode()
    assert "Letterhead of Quay Physio" in page and "(207) 555-0100" in page


def test_saving_the_same_letterhead_again_records_nothing(clinic_admin) -> None:
    set_letterhead(clinic_admin, **GOOD)
    set_letterhead(clinic_admin, **GOOD)
    assert AuditEntry.objects.filter(action="update", summary__startswith="letterhead").count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "  "}, "name", "Enter the clinic's name"),
        ({"address": "", "phone": ""}, "phone", "Enter a phone number or an address"),
        ({"email": "not-an-address"}, "email", "valid email"),
        ({"website": "quay"}, "website", "valid URL"),
    ],
)
def test_bad_input_gets_a_message_and_changes_nothing(clinic_admin, clinic, change, field, message) -> None:
    with pytest.raises(ValidationError) as raised:
        set_letterhead(clinic_admin, **(GOOD | change))
    assert message in " ".join(raised.value.message_dict[field])
    stored = Clinic.objects.get(pk=clinic.pk)
    assert (stored.name, stored.address, stored.phone, stored.email) == ("Test Clinic", "", "", "")
    page = client_for(clinic_admin).post("/clinic/letterhead/", GOOD | change)
    assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert Clinic.objects.get(pk=clinic.pk).name == "Test Clinic"


def test_only_clinic_admins_edit_the_letterhead(clinician, front_desk, clinic) -> None:
    for member in (clinician, front_desk):
        with pytest.raises(AccessDenied):
            set_letterhead(member, **GOOD)
        assert client_for(member).post("/clinic/letterhead/", GOOD).status_code == 403
    assert Clinic.objects.get(pk=clinic.pk).name == "Test Clinic"


def test_the_staff_page_links_to_the_letterhead(clinic_admin) -> None:
    assert 'href="/clinic/letterhead/"' in client_for(clinic_admin).get("/staff/").content.decode()


def test_the_demo_clinic_has_a_letterhead(db) -> None:
    from needlepoint.demo import build_demo

    build_demo(1, 3)
    demo = Clinic.objects.get(slug="demo")
    assert demo.address and demo.phone == "(207) 555-0142" and demo.email.endswith("example.org")
