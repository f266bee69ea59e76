"""Records other clinics sent, on the chart and on their own page: the chart shows how many of each type and the
newest ten, at the same cost however many there are (a Synthea import keeps about 150 for one patient); the page
lists them all, 50 a page, for the roles that see them on the chart, one audit entry per request."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.received_records import ReceivedRecordData
from tests.conftest import audit_lock_queries, client_for
from tests.patients.test_query_counts import PAGE_BUDGET, queries_for

pytestmark = pytest.mark.django_db

FIRST_DAY = date(2020, 1, 1)


def synthea_like(count: int = 150) -> list[str]:
    """The types of ``count`` records in date order, as one Synthea import keeps: mostly Observations, a Procedure
    every sixth day, an adverse event every thirtieth (for 150: 120, 25 and 5)."""
    return ["AdverseEvent" if n % 30 == 7 else "Procedure" if n % 6 == 2 else "Observation" for n in range(count)]


def resource(resource_type: str, n: int) -> dict[str, Any]:
    """A resource of ``resource_type`` dated ``n`` days after FIRST_DAY, described as "<type> <n>"."""
    day = (FIRST_DAY + timedelta(days=n)).isoformat()
    if resource_type == "AdverseEvent":
        return {"resourceType": "AdverseEvent", "actuality": "actual", "date": day, "event": {"text": f"Event {n}"}}
    if resource_type == "Procedure":
        return {
            "resourceType": "Procedure",
            "status": "completed",
            "performedDateTime": day,
            "code": {"text": f"Procedure {n}"},
        }
    return {
        "resourceType": "Observation",
        "status": "final",
        "effectiveDateTime": day,
        "code": {"text": f"Observation {n}"},
    }


def keep(clinician, patient, kinds: list[str] | None = None) -> int:
    """Keep records of these types (default: ``synthea_like()``) as another clinic sent them, the n-th dated n days
    after FIRST_DAY; how many."""
    kinds = synthea_like() if kinds is None else kinds
    received = [
        ReceivedRecordData(kind, f"{patient.pk}-{n}", resource(kind, n)) for n, kind in enumerate(kinds, start=1)
    ]
    actions.keep_received_records(clinician, patient, received, "Elsewhere Clinic")
    return len(received)


def register(clinician, given: str):
    return actions.register_patient(
        clinician, {"given_name": given, "family_name": "Doe", "date_of_birth": date(1980, 5, 17)}
    )


def rows(html: str) -> int:
    return html.count('data-testid="received-record"')


# ---------------------------------------------------------------------------------------------- the chart


def test_the_chart_with_150_received_records_stays_within_its_budget(clinician, django_assert_max_num_queries) -> None:
    patient = register(clinician, "Many")
    keep(clinician, patient)
    current_consent_text(patient.clinic)  # made on first use otherwise, as every clinic's first chart would
    client = client_for(clinician)

    with django_assert_max_num_queries(PAGE_BUDGET + audit_lock_queries()):
        page = client.get(f"/patients/{patient.pk}/")

    assert page.status_code == 200
    assert rows(page.content.decode()) == 10


def test_the_chart_costs_the_same_with_one_received_record_or_150(clinician) -> None:
    few, many = register(clinician, "Few"), register(clinician, "Many")
    keep(clinician, few, ["Procedure"])
    keep(clinician, many)
    client = client_for(clinician)
    queries_for(client, f"/patients/{few.pk}/")  # warm caches (session, consent text)

    assert queries_for(client, f"/patients/{many.pk}/") == queries_for(client, f"/patients/{few.pk}/")


def test_the_chart_shows_the_counts_by_type_the_newest_ten_and_a_link_to_them_all(clinician) -> None:
    patient = register(clinician, "Many")
    total = keep(clinician, patient)

    html = client_for(clinician).get(f"/patients/{patient.pk}/").content.decode()

    assert "Records from Elsewhere Clinic" in html
    assert "Observation: 120" in html and "Procedure: 25" in html and "Adverse event: 5" in html
    assert f'href="/patients/{patient.pk}/received-records/?type=AdverseEvent"' in html
    assert f'href="/patients/{patient.pk}/received-records/"' in html
    assert f"All records from other clinics ({total})" in html
    assert f"The newest 10 of {total}" in html
    assert rows(html) == 10
    # The newest by the date the sender gave: days total-9 .. total, newest first; nothing older.
    newest = [(FIRST_DAY + timedelta(days=n)).isoformat() for n in range(total, total - 10, -1)]
    positions = [html.index(day) for day in newest]
    assert positions == sorted(positions)
    assert (FIRST_DAY + timedelta(days=total - 10)).isoformat() not in html


def test_a_chart_with_no_received_records_shows_no_such_section(clinician, patient) -> None:
    html = client_for(clinician).get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="received-records"' not in html
    assert "/received-records/" not in html


def test_front_desk_sees_no_received_records_on_the_chart(clinician, front_desk) -> None:
    patient = register(clinician, "Many")
    keep(clinician, patient, ["Procedure"] * 3)
    html = client_for(front_desk).get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="received-records"' not in html and "/received-records/" not in html


# ---------------------------------------------------------------------------------------------- their own page


def test_the_page_lists_them_all_50_a_page_newest_first(clinician) -> None:
    patient = register(clinician, "Many")
    total = keep(clinician, patient)
    client = client_for(clinician)
    url = f"/patients/{patient.pk}/received-records/"

    pages = [client.get(url, {"page": n}) for n in (1, 2, 3)]

    assert [page.status_code for page in pages] == [200, 200, 200]
    html = [page.content.decode() for page in pages]
    assert [rows(h) for h in html] == [50, 50, 50]
    assert "Page 1 of 3" in html[0] and "page=2" in html[0] and "Newer" not in html[0]
    assert "Page 3 of 3" in html[2] and "Older" not in html[2]
    # Newest first across the pages: the first page starts with the last day, the last ends with the first.
    first_day, last_day = FIRST_DAY + timedelta(days=1), FIRST_DAY + timedelta(days=total)
    assert last_day.isoformat() in html[0] and first_day.isoformat() in html[2]
    assert last_day.isoformat() not in html[2] and first_day.isoformat() not in html[0]
    assert "Elsewhere Clinic" in html[0] and "by Alice" in html[0]
    # A page past the end shows the last one.
    assert rows(client.get(url, {"page": 99}).content.decode()) == 50


def test_the_page_lists_one_type_when_asked(clinician) -> None:
    patient = register(clinician, "Many")
    keep(clinician, patient)
    client = client_for(clinician)

    html = client.get(f"/patients/{patient.pk}/received-records/", {"type": "AdverseEvent"}).content.decode()

    assert rows(html) == 5
    assert "Records from other clinics: Adverse event" in html
    assert html.count("Event ") >= 5 and "Procedure 1<" not in html


def test_an_unknown_type_says_so_and_lists_every_record(clinician) -> None:
    patient = register(clinician, "Many")
    keep(clinician, patient, ["Procedure"] * 3)

    page = client_for(clinician).get(f"/patients/{patient.pk}/received-records/", {"type": "<b>Encounter</b>"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "This patient has no records of type “&lt;b&gt;Encounter&lt;/b&gt;” from other clinics" in html
    assert rows(html) == 3


def test_the_page_costs_the_same_for_60_or_150_records(clinician) -> None:
    fewer, more = register(clinician, "Fewer"), register(clinician, "More")
    keep(clinician, fewer, synthea_like(60))
    keep(clinician, more)
    client = client_for(clinician)
    queries_for(client, f"/patients/{fewer.pk}/received-records/")

    assert queries_for(client, f"/patients/{more.pk}/received-records/") == queries_for(
        client, f"/patients/{fewer.pk}/received-records/"
    )


def test_each_request_leaves_one_read_entry_naming_the_patient(clinician) -> None:
    patient = register(clinician, "Many")
    keep(clinician, patient)
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    assert client_for(clinician).get(f"/patients/{patient.pk}/received-records/").status_code == 200

    new = AuditEntry.objects.filter(pk__gt=before)
    assert new.count() == 1
    entry = new.get()
    assert entry.action == "read" and entry.patient_id == patient.pk


def test_front_desk_may_not_open_the_page(clinician, front_desk) -> None:
    patient = register(clinician, "Many")
    keep(clinician, patient, ["Procedure"] * 3)

    page = client_for(front_desk).get(f"/patients/{patient.pk}/received-records/")

    assert page.status_code == 403
    assert AuditEntry.objects.filter(action="denied").exists()


def test_another_clinic_finds_no_such_patient(clinician, outsider) -> None:
    patient = register(clinician, "Many")
    keep(clinician, patient, ["Procedure"] * 3)

    assert client_for(outsider).get(f"/patients/{patient.pk}/received-records/").status_code == 404


def test_a_clinic_admin_reads_them_as_on_the_chart(clinician, clinic_admin) -> None:
    patient = register(clinician, "Many")
    keep(clinician, patient, ["Procedure"] * 3)
    client = client_for(clinic_admin)

    assert 'data-testid="received-records"' in client.get(f"/patients/{patient.pk}/").content.decode()
    assert rows(client.get(f"/patients/{patient.pk}/received-records/").content.decode()) == 3
