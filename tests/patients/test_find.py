"""Patients found at once: search by phone, "Last, First", any apostrophe and accents; duplicate detection at
registration (page and API); recent and today's patients on the patient list; the header search; query budgets.

Written for both databases: every search goes through the real queries the page runs (on PostgreSQL the
search names are in collation "C" and the phone columns are compared as ranges).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from needlepoint.accounts.access import patients_for
from needlepoint.accounts.actions import create_api_token
from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions
from needlepoint.patients.models import Patient, RecentPatient, normalise_name, phone_digits
from needlepoint.patients.search import possible_duplicates, same_phone, search_patients
from needlepoint.scheduling.calendar import day_bounds
from needlepoint.visits import actions as visit_actions
from tests.conftest import client_for, make_member
from tests.scheduling.conftest import appointment_at
from tests.visits.visit_helpers import open_neck_episode

LIST_BUDGET = 14  # the patient list with recent and today's patients, however many
HEADER_SEARCH_BUDGET = 12


def register(membership, given: str, family: str, born: date = date(1975, 3, 14), phone: str = "", **more):
    """A patient registered through the real action (a different person, whatever the check says)."""
    data = {"given_name": given, "family_name": family, "date_of_birth": born, "phone": phone} | more
    return actions.register_patient(membership, data, confirm_duplicate=True)


def found(membership, text: str) -> list[str]:
    """The MRNs the search finds for ``text``."""
    return [p.mrn for p in search_patients(patients_for(membership), text)]


def api(membership) -> Client:
    _, raw = create_api_token(membership, "find tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


# --- search ----------------------------------------------------------------------------------------


def test_a_phone_number_is_found_whatever_its_formatting(clinician) -> None:
    rosa = register(clinician, "Rosa", "Marquez", phone="+1 555 201 3344")
    register(clinician, "Ken", "Ito", phone="+1 555 201 9999")

    for typed in ("+1 (555) 201-3344", "15552013344", "555.201.3344", "(555) 201-3344", "201-3344", "+1 555 201 3344"):
        assert found(clinician, typed) == [rosa.mrn], typed
    # The start of a number lists every number that starts so, as it is typed.
    assert len(found(clinician, "+1 555 201")) == 2
    assert found(clinician, "555 201 0000") == []


def test_a_number_with_a_country_code_or_trunk_zero_finds_the_same_number_without_it(clinician) -> None:
    us = register(clinician, "Ann", "Lee", phone="(555) 201-3344")
    uk = register(clinician, "Ben", "Hart", phone="020 7946 0958")

    assert found(clinician, "+1 555 201 3344") == [us.mrn]
    assert found(clinician, "+44 20 7946 0958") == [uk.mrn]


def test_a_run_of_digits_finds_an_imported_mrn_and_a_phone(clinician) -> None:
    imported = actions.register_patient(
        clinician, {"given_name": "Ian", "family_name": "Port", "date_of_birth": date(1960, 1, 1)}, mrn="20133"
    )
    by_phone = register(clinician, "Ada", "Vale", phone="555 201 3344")

    assert set(found(clinician, "20133")) == {imported.mrn}
    assert set(found(clinician, "2013344")) == {by_phone.mrn}


def test_the_list_format_last_comma_first_and_first_last_both_find_the_patient(clinician) -> None:
    rosa = register(clinician, "Rosa", "Marquez")
    register(clinician, "Rosalind", "Franklin")

    for typed in ("Marquez, Rosa", "marquez,rosa", "Marquez, R", "Rosa Marquez", "rosa marq", "MARQUEZ"):
        assert found(clinician, typed) == [rosa.mrn], typed


def test_any_apostrophe_finds_the_name_typed_with_another(clinician) -> None:
    straight = register(clinician, "Sean", "O'Brien")
    curly = register(clinician, "Aoife", "O\u2019Connor")
    modifier = register(clinician, "Liam", "O\u02bcNeill")

    for typed in ("O'Brien", "O\u2019Brien", "O\u02bcBrien", "OBrien", "obrien, sean", "Sean O\u2019Brien"):
        assert found(clinician, typed) == [straight.mrn], typed
    assert found(clinician, "O'Connor") == [curly.mrn]
    assert found(clinician, "o'neill") == [modifier.mrn]


def test_accents_are_ignored_either_way(clinician) -> None:
    jose = register(clinician, "José", "Núñez")
    zoe = register(clinician, "Zoe", "Muller")

    assert found(clinician, "Jose Nunez") == [jose.mrn]
    assert found(clinician, "Núñez, José") == [jose.mrn]
    assert found(clinician, "nunez") == [jose.mrn]
    assert found(clinician, "Zoë Müller") == [zoe.mrn]


def test_search_never_reaches_another_clinic(clinician, outsider) -> None:
    register(outsider, "Rosa", "Marquez", phone="+1 555 201 3344")
    assert found(clinician, "Marquez, Rosa") == []
    assert found(clinician, "+1 (555) 201-3344") == []


def test_the_search_page_finds_by_phone_and_audits_the_search(front_desk, clinician) -> None:
    rosa = register(clinician, "Rosa", "Marquez", phone="+1 555 201 3344")
    before = AuditEntry.objects.filter(action="search").count()

    page = client_for(front_desk).get("/patients/", {"q": "+1 (555) 201-3344"}).content.decode()

    assert f'href="/patients/{rosa.pk}/"' in page and "Marquez, Rosa" in page
    entry = AuditEntry.objects.filter(action="search").latest("pk")
    assert AuditEntry.objects.filter(action="search").count() == before + 1
    assert entry.summary == "patient search (1 found)" and entry.user_id == front_desk.user_id
    # The search text itself is never written to the audit trail.
    assert "555" not in entry.summary


def test_the_search_columns_follow_an_edit_of_name_and_phone(clinician) -> None:
    patient = register(clinician, "Rosa", "Marquez", phone="555 201 3344")
    actions.update_patient(clinician, patient.pk, {"family_name": "O’Hara", "phone": "+1 555 777 1212"}, 1)

    assert found(clinician, "O'Hara, Rosa") == [patient.mrn]
    assert found(clinician, "555-777-1212") == [patient.mrn]
    assert found(clinician, "Marquez") == [] and found(clinician, "201 3344") == []


def test_normalisation_of_names_and_phones() -> None:
    assert normalise_name("  O\u2019Brien,  José ") == "obrien jose"
    assert normalise_name("D\u00b4Arcy-Smith") == "darcy-smith"
    assert phone_digits("+1 (555) 201-3344 ext. 7") == "155520133447"
    assert same_phone("15552013344", "5552013344")
    assert not same_phone("2013344", "2013345")
    assert not same_phone("201334", "201334")  # fewer than seven digits is no phone to compare


# --- duplicates -------------------------------------------------------------------------------------

NEW_ROSA = {
    "given_name": "Rosa",
    "family_name": "Marquez",
    "date_of_birth": "1975-03-14",
    "sex": "female",
    "phone": "+1 555 201 3344",
}


def test_the_same_name_and_birth_date_is_refused_as_a_possible_duplicate(front_desk) -> None:
    existing = register(front_desk, "Rosa", "Márquez", phone="")
    data = {"given_name": "rosa", "family_name": "Marquez", "date_of_birth": date(1975, 3, 14)}

    with pytest.raises(actions.PossibleDuplicate) as refused:
        actions.register_patient(front_desk, data)

    assert [p.pk for p in refused.value.candidates] == [existing.pk]
    assert Patient.objects.count() == 1
    # The candidates were shown: the check is audited as a search, and survives the refusal.
    assert AuditEntry.objects.filter(action="search", summary="duplicate check (1 found)").exists()
    confirmed = actions.register_patient(front_desk, data, confirm_duplicate=True)
    assert Patient.objects.count() == 2 and confirmed.pk != existing.pk


def test_the_same_phone_is_a_possible_duplicate_whatever_its_formatting(front_desk) -> None:
    existing = register(front_desk, "Ken", "Ito", born=date(1970, 1, 1), phone="(555) 201-3344")
    data = {"given_name": "Yuki", "family_name": "Ito", "date_of_birth": date(2001, 6, 1), "phone": "+1 555 201 3344"}

    with pytest.raises(actions.PossibleDuplicate) as refused:
        actions.register_patient(front_desk, data)
    assert [p.pk for p in refused.value.candidates] == [existing.pk]


def test_a_different_person_is_not_a_duplicate(front_desk) -> None:
    register(front_desk, "Rosa", "Marquez", phone="+1 555 201 3344")
    scoped = patients_for(front_desk)
    assert possible_duplicates(scoped, "Rosa", "Marquez", date(1975, 3, 15), "+1 555 201 3345") == []
    assert possible_duplicates(scoped, "Rose", "Marquez", date(1975, 3, 14), "") == []
    # A short number (an extension) is not compared.
    assert possible_duplicates(scoped, "Ana", "Diaz", date(1990, 1, 1), "3344") == []


def test_a_patient_of_another_clinic_is_never_offered(front_desk, outsider) -> None:
    register(outsider, "Rosa", "Marquez", phone="+1 555 201 3344")
    patient = actions.register_patient(
        front_desk, {"given_name": "Rosa", "family_name": "Marquez", "date_of_birth": date(1975, 3, 14)}
    )
    assert patient.clinic_id == front_desk.clinic_id


def test_the_registration_page_offers_the_existing_patient_and_needs_a_confirmation(front_desk) -> None:
    existing = register(front_desk, "Rosa", "Marquez", phone="+1 555 201 3344")
    client = client_for(front_desk)

    offered = client.post("/patients/new/", NEW_ROSA)

    assert offered.status_code == 200
    page = offered.content.decode()
    assert "This patient may already be registered" in page
    assert f'href="/patients/{existing.pk}/"' in page and existing.mrn in page
    assert 'name="confirm_duplicate"' in page
    assert 'value="Rosa"' in page  # what was typed is kept
    assert Patient.objects.count() == 1

    # Saving again without ticking the box is refused again.
    assert "This patient may already be registered" in client.post("/patients/new/", NEW_ROSA).content.decode()
    assert Patient.objects.count() == 1

    registered = client.post("/patients/new/", NEW_ROSA | {"confirm_duplicate": "on"})
    assert registered.status_code == 302
    assert Patient.objects.count() == 2


def test_the_registration_page_shows_no_duplicate_box_for_a_new_patient(front_desk) -> None:
    client = client_for(front_desk)
    assert 'name="confirm_duplicate"' not in client.get("/patients/new/").content.decode()
    assert client.post("/patients/new/", NEW_ROSA).status_code == 302


def test_the_edit_page_has_no_duplicate_confirmation(front_desk, patient) -> None:
    page = client_for(front_desk).get(f"/patients/{patient.pk}/edit/").content.decode()
    assert 'name="confirm_duplicate"' not in page


def test_the_api_answers_409_with_the_candidates_unless_confirmed(front_desk) -> None:
    existing = register(front_desk, "Rosa", "Marquez", phone="+1 555 201 3344")
    client = api(front_desk)
    body = NEW_ROSA | {"given_name": "ROSA", "phone": "", "family_name": "Márquez"}

    refused = client.post("/api/v1/patients", json.dumps(body), content_type="application/json")

    assert refused.status_code == 409
    answer = refused.json()
    assert [c["id"] for c in answer["candidates"]] == [existing.pk]
    assert answer["candidates"][0]["mrn"] == existing.mrn and "register anyway" in answer["detail"]
    assert set(answer["candidates"][0]) == {"id", "mrn", "given_name", "family_name", "date_of_birth", "phone"}
    assert Patient.objects.count() == 1

    created = client.post(
        "/api/v1/patients", json.dumps(body | {"confirm_duplicate": True}), content_type="application/json"
    )
    assert created.status_code == 201 and Patient.objects.count() == 2


def test_the_api_registers_a_new_patient_without_a_confirmation(front_desk) -> None:
    created = api(front_desk).post("/api/v1/patients", json.dumps(NEW_ROSA), content_type="application/json")
    assert created.status_code == 201


# --- recent and today's patients --------------------------------------------------------------------


def test_recent_patients_are_the_ones_this_member_opened_latest_first(front_desk, clinician) -> None:
    ann = register(clinician, "Ann", "Lee")
    ben = register(clinician, "Ben", "Hart")
    cai = register(clinician, "Cai", "Wu")
    desk = client_for(front_desk)
    for patient in (ann, ben, ann):
        assert desk.get(f"/patients/{patient.pk}/").status_code == 200
    client_for(clinician).get(f"/patients/{cai.pk}/")  # someone else's opening is not on this list

    page = desk.get("/patients/").content.decode()

    recent = page.split('id="recent-patients"')[1]
    assert recent.index("Lee, Ann") < recent.index("Hart, Ben")
    assert "Wu, Cai" not in recent
    assert list(RecentPatient.objects.filter(membership=front_desk).values_list("patient_id", flat=True)) != []
    entry = AuditEntry.objects.filter(action="read", summary__startswith="recent and today").latest("pk")
    assert entry.summary == "recent and today's patients (2 listed)"


def test_recent_patients_keep_the_latest_twenty(front_desk, clinician) -> None:
    patients = [
        register(clinician, f"Given{n:02d}", "Many", born=date(1970, 1, 1) + timedelta(days=n)) for n in range(23)
    ]
    for patient in patients:
        actions.note_patient_opened(front_desk, patient)

    kept = set(RecentPatient.objects.filter(membership=front_desk).values_list("patient_id", flat=True))
    assert kept == {p.pk for p in patients[-actions.RECENT_KEPT :]}


def test_a_recent_patient_of_another_clinic_is_refused(front_desk, outsider) -> None:
    elsewhere = register(outsider, "Olga", "Berg")
    with pytest.raises(Exception, match="another clinic"):
        actions.note_patient_opened(front_desk, elsewhere)
    assert not RecentPatient.objects.exists()


def book_today(front_desk, clinician, patient, minutes_after_midnight: int, status: str = "booked"):
    """An appointment today, stored directly: the booking action refuses a time already past, and this test
    must pass at any hour of the day."""
    start, _ = day_bounds(timezone.localdate())
    starts_at = start + timedelta(minutes=minutes_after_midnight)
    cancel_reason = "Patient is unwell" if status == "cancelled" else ""
    return appointment_at(
        clinician, patient, starts_at, booked_by=front_desk, status=status, cancel_reason=cancel_reason
    )


def test_todays_patients_come_from_the_appointment_book_for_front_desk(front_desk, clinician) -> None:
    ann = register(clinician, "Ann", "Lee")
    ben = register(clinician, "Ben", "Hart")
    gone = register(clinician, "Gil", "Gone")
    later = register(clinician, "Lia", "Later")
    book_today(front_desk, clinician, ben, 9 * 60)
    book_today(front_desk, clinician, ann, 8 * 60)
    book_today(front_desk, clinician, gone, 10 * 60, status="cancelled")
    book_today(front_desk, clinician, later, 24 * 60 + 9 * 60)  # tomorrow
    visit_actions.start_visit(clinician, open_neck_episode(clinician, later), {})

    page = client_for(front_desk).get("/patients/").content.decode()

    today = page.split('id="todays-patients"')[1].split('id="recent-patients"')[0]
    assert today.index("Lee, Ann") < today.index("Hart, Ben")
    assert "08:00" in today and "Follow-up with Alice" in today
    assert "Gone, Gil" not in today
    # Front desk is not told that a visit was documented today: that belongs to the clinical record.
    assert "Later, Lia" not in today and "Visit with" not in today


def test_a_clinician_also_sees_the_visits_started_today(front_desk, clinician) -> None:
    walk_in = register(clinician, "Wal", "Kin")
    booked = register(clinician, "Bo", "Oked")
    book_today(front_desk, clinician, booked, 7 * 60)
    visit_actions.start_visit(clinician, open_neck_episode(clinician, walk_in), {})

    today = client_for(clinician).get("/patients/").content.decode().split('id="todays-patients"')[1]

    assert "Kin, Wal" in today and "Visit with Alice" in today and "in progress" in today
    assert "Oked, Bo" in today


def test_the_patient_list_costs_the_same_with_many_recent_and_todays_patients(front_desk, clinician) -> None:
    client = client_for(clinician)
    one = register(clinician, "One", "Only")
    actions.note_patient_opened(clinician, one)
    book_today(front_desk, clinician, one, 8 * 60)
    client.get("/patients/")  # warm the session and caches

    with CaptureQueriesContext(connection) as few:
        client.get("/patients/")
    for n in range(25):
        patient = register(clinician, f"P{n:02d}", "Many", born=date(1960, 1, 1) + timedelta(days=n))
        actions.note_patient_opened(clinician, patient)
        book_today(front_desk, clinician, patient, 8 * 60 + 10 * n)
        if n < 5:
            visit_actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    with CaptureQueriesContext(connection) as many:
        page = client.get("/patients/")

    assert page.status_code == 200 and page.content.decode().count("Many, P") >= 25
    assert len(many) == len(few)
    assert len(many) <= LIST_BUDGET


# --- the header search -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/patients/", "/schedule/", "/atlas/"])
def test_every_signed_in_page_has_the_header_search_with_its_shortcut(clinician, path) -> None:
    page = client_for(clinician).get(path, follow=True).content.decode()
    assert 'id="header-q"' in page and 'placeholder="Find a patient (press /)"' in page
    assert 'aria-keyshortcuts="/"' in page and "js/find.js" in page


def test_front_desk_has_the_header_search_too(front_desk, patient) -> None:
    for path in ("/patients/", f"/patients/{patient.pk}/", "/schedule/"):
        assert 'id="header-q"' in client_for(front_desk).get(path).content.decode(), path


def test_the_sign_in_page_has_no_header_search(db) -> None:
    assert 'id="header-q"' not in Client().get("/accounts/login/", follow=True).content.decode()


def test_the_header_search_answers_live_with_a_short_list_and_a_link_to_all(front_desk, clinician) -> None:
    for n in range(12):
        register(clinician, f"Rosa{n:02d}", "Marquez", born=date(1970, 1, 1) + timedelta(days=n))
    client = client_for(front_desk)
    client.get("/patients/", {"q": "x", "from": "header"}, HTTP_HX_REQUEST="true")

    with CaptureQueriesContext(connection) as queries:
        live = client.get("/patients/", {"q": "Marquez, Rosa", "from": "header"}, HTTP_HX_REQUEST="true")

    text = live.content.decode()
    assert "<html" not in text and 'role="listbox"' in text
    assert text.count('role="option"') == 8
    assert "All 12 matches" in text and 'href="/patients/?q=Marquez%2C%20Rosa"' in text
    assert len(queries) <= HEADER_SEARCH_BUDGET
    assert AuditEntry.objects.filter(action="search", summary="patient search (12 found)").exists()


def test_the_header_search_without_javascript_opens_the_full_results_page(front_desk, clinician) -> None:
    rosa = register(clinician, "Rosa", "Marquez")
    page = client_for(front_desk).get("/patients/", {"q": "Marquez, Rosa"}).content.decode()
    assert "<html" in page and f'href="/patients/{rosa.pk}/"' in page


def test_an_empty_clinic_shows_empty_lists_that_say_so(db) -> None:
    from needlepoint.accounts.models import Clinic

    clinic = Clinic.objects.create(name="Empty", slug="empty", mrn_prefix="EM")
    member = make_member(clinic, "solo", "front_desk")
    page = client_for(member).get("/patients/").content.decode()
    assert "No appointments or visits today." in page and "Patients you open appear here." in page


def test_the_demo_clinics_patients_are_found_by_phone(db) -> None:
    from needlepoint.accounts.models import Membership
    from needlepoint.demo import build_demo

    build_demo(patients=5, seed=1)
    desk = Membership.objects.get(clinic__slug="demo", user__username="desk")
    patient = Patient.objects.filter(clinic__slug="demo").order_by("pk").last()
    # The demo writes its patients in bulk, past save(): the phone columns must be filled all the same.
    assert patient.phone_digits == phone_digits(patient.phone) != ""
    assert patient.mrn in found(desk, patient.phone.replace(" ", "-"))


def test_a_number_ending_in_nines_is_found_by_its_start_and_its_end(clinician) -> None:
    nines = register(clinician, "Nia", "Nine", phone="555 999 9999")
    nine_start = register(clinician, "Ned", "Nine", phone="999 123 4567", born=date(1980, 1, 1))
    register(clinician, "Ola", "Other", phone="556 000 0000", born=date(1981, 1, 1))

    assert found(clinician, "555 999 99") == [nines.mrn]
    assert found(clinician, "9999") == [nines.mrn]  # the end
    assert found(clinician, "999 123") == [nine_start.mrn]
    assert found(clinician, "5559999999") == [nines.mrn]


def test_an_emptied_header_search_lists_nothing_and_audits_nothing(front_desk, patient) -> None:
    actions.note_patient_opened(front_desk, patient)
    before = AuditEntry.objects.count()
    live = client_for(front_desk).get("/patients/", {"q": "", "from": "header"}, HTTP_HX_REQUEST="true")
    assert live.status_code == 200 and live.content.decode().strip() == ""
    assert AuditEntry.objects.count() == before


# --- the same check when a patient's details are edited ------------------------------------------------


def test_an_edit_that_makes_the_patient_look_like_another_is_refused_unless_confirmed(front_desk) -> None:
    rosa = register(front_desk, "Rosa", "Marquez", phone="+1 555 201 3344")
    typo = register(front_desk, "Rosa", "Marques", phone="")
    change = {"family_name": "Márquez"}

    with pytest.raises(actions.PossibleDuplicate) as refused:
        actions.update_patient(front_desk, typo.pk, change, typo.version)

    assert [p.pk for p in refused.value.candidates] == [rosa.pk] and "save anyway" in refused.value.messages[0]
    typo.refresh_from_db()
    assert typo.family_name == "Marques" and typo.version == 1
    assert AuditEntry.objects.filter(action="search", summary="duplicate check (1 found)").exists()
    saved = actions.update_patient(front_desk, typo.pk, change, typo.version, confirm_duplicate=True)
    assert saved.family_name == "Márquez" and saved.version == 2


def test_an_edit_that_leaves_name_birth_date_and_phone_alone_is_not_checked(front_desk) -> None:
    register(front_desk, "Rosa", "Marquez", phone="+1 555 201 3344")
    twin = register(front_desk, "Rosa", "Marquez", phone="")  # confirmed at registration as a different person
    saved = actions.update_patient(front_desk, twin.pk, {"email": "rosa@example.org"}, twin.version)
    assert saved.email == "rosa@example.org"
    # The patient's own record is never offered as her duplicate.
    alone = register(front_desk, "Ines", "Ruiz", born=date(1990, 1, 2), phone="555 777 1234")
    assert actions.update_patient(front_desk, alone.pk, {"phone": "+1 555 777 1234"}, alone.version).version == 2


def test_the_edit_page_offers_the_existing_patient_and_keeps_what_was_typed(front_desk) -> None:
    rosa = register(front_desk, "Rosa", "Marquez", phone="")
    other = register(front_desk, "Ana", "Diaz", born=date(1990, 1, 1), phone="555 201 3344")
    client = client_for(front_desk)
    typed = {
        "given_name": "Ana",
        "family_name": "Diaz",
        "date_of_birth": "1975-03-14",
        "sex": "female",
        "phone": "555 201 3344",
        "version": other.version,
    }
    typed |= {"given_name": "Rosa", "family_name": "Marquez"}  # a mistaken edit: the other patient's name and birth

    offered = client.post(f"/patients/{other.pk}/edit/", typed)

    page = offered.content.decode()
    assert offered.status_code == 200 and "this may be another patient already registered" in page
    assert f'href="/patients/{rosa.pk}/"' in page and 'name="confirm_duplicate"' in page and 'value="Rosa"' in page
    other.refresh_from_db()
    assert other.given_name == "Ana" and other.version == 1
    saved = client.post(f"/patients/{other.pk}/edit/", typed | {"confirm_duplicate": "on"})
    assert saved.status_code == 302
    other.refresh_from_db()
    assert other.given_name == "Rosa" and other.version == 2


def test_the_api_answers_an_edit_that_may_duplicate_with_409(front_desk) -> None:
    rosa = register(front_desk, "Rosa", "Marquez", phone="+1 555 201 3344")
    other = register(front_desk, "Ana", "Diaz", born=date(1990, 1, 1))
    client = api(front_desk)
    body = {"version": other.version, "phone": "(555) 201-3344"}
    refused = client.patch(f"/api/v1/patients/{other.pk}", json.dumps(body), content_type="application/json")
    assert refused.status_code == 409 and [c["id"] for c in refused.json()["candidates"]] == [rosa.pk]
    body |= {"confirm_duplicate": True}
    saved = client.patch(f"/api/v1/patients/{other.pk}", json.dumps(body), content_type="application/json")
    assert saved.status_code == 200 and saved.json()["phone"] == "(555) 201-3344"
