"""A signed visit cannot change by any write path: the actions, a page POST (crafted or not), the API,
the Django admin (not registered), the ORM's save()/delete() and QuerySet update()/delete(), and raw SQL,
refused by database triggers on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.test import Client

from needlepoint.accounts.actions import create_api_token
from needlepoint.visits.models import (
    Addendum,
    AdverseEvent,
    AdverseEventFollowUp,
    NeedlingEntry,
    Visit,
    VisitLocked,
)
from needlepoint.visits.triggers import trigger_names
from tests.conftest import client_for
from tests.visits.visit_helpers import fresh, signed_visit


@pytest.fixture
def signed(clinician, visit) -> Visit:
    return signed_visit(clinician, visit)


def snapshot(visit: Visit) -> tuple:
    v = fresh(visit)
    entries = list(NeedlingEntry.objects.filter(visit=v).order_by("pk").values_list("muscle_id", "needles", "side"))
    return (v.version, v.pain_after, v.subjective, v.note_text, v.needles_removed, v.signed_at, entries)


def test_the_orm_save_and_delete_refuse_a_signed_visit(signed) -> None:
    before = snapshot(signed)
    signed.subjective = "rewritten"
    with pytest.raises(VisitLocked):
        signed.save()
    with pytest.raises(VisitLocked):
        signed.delete()
    row = signed.needling_entries.first()
    row.needles = 9
    with pytest.raises(VisitLocked):
        row.save()
    with pytest.raises(VisitLocked):
        row.delete()
    with pytest.raises(VisitLocked):
        NeedlingEntry(
            clinic_id=signed.clinic_id,
            patient_id=signed.patient_id,
            visit=signed,
            muscle_id="deltoid",
            side="left",
            needles=1,
            diameter_mm="0.25",
            length_mm="30",
            technique="static",
            twitch_response="none",
            recorded_by=signed.clinician,
        ).save()
    assert snapshot(signed) == before


def test_a_copy_loaded_before_signing_cannot_overwrite_the_signed_visit(clinician, visit) -> None:
    stale = Visit.objects.get(pk=visit.pk)
    signed_visit(clinician, visit)
    stale.subjective = "stale overwrite"
    with pytest.raises(VisitLocked):
        stale.save()
    assert fresh(visit).subjective == ""


def test_queryset_update_and_delete_refuse_signed_visits(signed) -> None:
    before = snapshot(signed)
    with pytest.raises(VisitLocked):
        Visit.objects.filter(pk=signed.pk).update(pain_after=0)
    with pytest.raises(VisitLocked):
        Visit.objects.all().delete()
    with pytest.raises(VisitLocked):
        NeedlingEntry.objects.filter(visit=signed).update(needles=1)
    with pytest.raises(VisitLocked):
        NeedlingEntry.objects.filter(visit=signed).delete()
    signed.pain_after = 0
    with pytest.raises(VisitLocked), transaction.atomic():
        Visit.objects.bulk_update([signed], ["pain_after"])
    assert snapshot(signed) == before


def test_addenda_and_follow_ups_are_append_only(clinician, signed) -> None:
    from needlepoint.visits import actions

    addendum = actions.add_addendum(clinician, signed.pk, "Correction: pain after was 2.")
    addendum.text = "changed"
    with pytest.raises(VisitLocked):
        addendum.save()
    with pytest.raises(VisitLocked):
        addendum.delete()
    with pytest.raises(VisitLocked):
        Addendum.objects.filter(pk=addendum.pk).update(text="changed")
    with pytest.raises(VisitLocked):
        AdverseEvent.objects.all().delete()
    with pytest.raises(VisitLocked):
        AdverseEventFollowUp.objects.all().update(note="x")
    assert Addendum.objects.get(pk=addendum.pk).text == "Correction: pain after was 2."


def _raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_database_triggers_refuse_update_and_delete_of_a_signed_visit(signed) -> None:
    before = snapshot(signed)
    entry_id = signed.needling_entries.first().pk
    statements = [
        ("UPDATE visits_visit SET pain_after = 0 WHERE id = %s", [signed.pk]),
        ("UPDATE visits_visit SET signed_at = NULL, signed_by_id = NULL WHERE id = %s", [signed.pk]),
        ("DELETE FROM visits_visit WHERE id = %s", [signed.pk]),
        ("UPDATE visits_needlingentry SET needles = 9 WHERE id = %s", [entry_id]),
        ("DELETE FROM visits_needlingentry WHERE id = %s", [entry_id]),
        (
            "INSERT INTO visits_needlingentry (clinic_id, patient_id, visit_id, position, muscle_id, side, "
            "trigger_point, needles, diameter_mm, length_mm, technique, twitch_response, patient_response, "
            "recorded_by_id, recorded_at) SELECT clinic_id, patient_id, visit_id, 9, muscle_id, side, trigger_point, "
            "needles, diameter_mm, length_mm, technique, twitch_response, patient_response, recorded_by_id, "
            "recorded_at FROM visits_needlingentry WHERE id = %s",
            [entry_id],
        ),
    ]
    for sql, params in statements:
        with pytest.raises(DatabaseError):
            _raw(sql, params)
    assert snapshot(signed) == before


def test_database_triggers_keep_addenda_append_only(clinician, signed) -> None:
    from needlepoint.visits import actions

    addendum = actions.add_addendum(clinician, signed.pk, "Reviewed.")
    for sql in ("UPDATE visits_addendum SET text = 'x' WHERE id = %s", "DELETE FROM visits_addendum WHERE id = %s"):
        with pytest.raises(DatabaseError):
            _raw(sql, [addendum.pk])


def test_unsigned_visits_stay_editable_in_sql(visit) -> None:
    _raw("UPDATE visits_visit SET subjective = 'draft' WHERE id = %s", [visit.pk])
    assert fresh(visit).subjective == "draft"


def test_every_trigger_exists(db) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        present = {row[0] for row in cursor.fetchall()}
    assert set(trigger_names()) <= present


def test_the_visit_models_are_not_in_the_django_admin() -> None:
    for model in (Visit, NeedlingEntry, Addendum, AdverseEvent, AdverseEventFollowUp):
        assert not admin.site.is_registered(model)


def test_crafted_page_posts_cannot_change_a_signed_visit(clinician, signed) -> None:
    client = client_for(clinician)
    before = snapshot(signed)
    entry_id = signed.needling_entries.first().pk
    posts = [
        (f"/visits/{signed.pk}/details/", {"started_at": "2020-01-01T10:00", "pain_after": "0", "subjective": "x"}),
        (
            f"/visits/{signed.pk}/needling/",
            {
                "muscle_id": "deltoid",
                "side": "left",
                "trigger_point": "middle",
                "needles": "1",
                "diameter_mm": "0.25",
                "length_mm": "30",
                "technique": "pistoning",
                "twitch_response": "none",
            },
        ),
        (f"/visits/{signed.pk}/needling/{entry_id}/remove/", {}),
        (f"/visits/{signed.pk}/needle-counts/", {"opened": "9", "removed": "6", "in_sharps": "9"}),
        (f"/visits/{signed.pk}/acknowledge/", {"ack:x": "y"}),
        (f"/visits/{signed.pk}/needling/copy/", {}),
        (f"/visits/{signed.pk}/sign/", {}),
    ]
    page = f"/visits/{signed.pk}/"
    for url, data in posts:
        for version in (signed.version, signed.version - 1):
            response = client.post(url, data | {"version": str(version)}, HTTP_HX_REQUEST="true")
            assert (response.status_code, response["HX-Redirect"]) == (204, page), url
            response = client.post(url, data | {"version": str(version)})
            assert (response.status_code, response["Location"]) == (302, page), url
    shown = client.get(page).content.decode()
    assert "signed" in shown and "locked" in shown
    assert snapshot(signed) == before


def test_the_api_cannot_change_a_signed_visit(clinician, signed) -> None:
    _token, raw = create_api_token(clinician, "test")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    before = snapshot(signed)
    base = f"/api/v1/visits/{signed.pk}"
    entry_id = signed.needling_entries.first().pk
    v = signed.version
    calls = [
        ("patch", base, {"version": v, "pain_after": 0}),
        (
            "post",
            f"{base}/needling",
            {
                "version": v,
                "muscle_id": "deltoid",
                "side": "left",
                "trigger_point": "middle",
                "needles": 1,
                "diameter_mm": "0.25",
                "length_mm": "30",
                "technique": "pistoning",
                "twitch_response": "none",
            },
        ),
        ("delete", f"{base}/needling/{entry_id}?version={v}", None),
        ("put", f"{base}/needle-count", {"version": v, "opened": 9, "removed": 6, "in_sharps": 9}),
        ("post", f"{base}/acknowledgements", {"version": v, "acknowledgements": {"x": "y"}}),
        ("post", f"{base}/sign", {"version": v}),
    ]
    for method, url, body in calls:
        response = (
            getattr(client, method)(url, body, content_type="application/json")
            if body is not None
            else getattr(client, method)(url)
        )
        assert response.status_code == 400, (url, response.content)
        assert "signed" in response.json()["detail"]
    assert snapshot(signed) == before


@pytest.mark.django_db(transaction=True)
def test_wiping_the_whole_database_empties_signed_visits_and_keeps_them_immutable_afterwards(clinician, visit) -> None:
    # flush (tests, manage.py flush) must pass the signed-visit triggers on SQLite (DELETE) as on PostgreSQL
    # (TRUNCATE), and leave them in place: the backend lifts them only for flush's own statements.
    from django.core.management import call_command

    signed_visit(clinician, visit)
    call_command("flush", interactive=False, verbosity=0)
    assert not Visit.objects.exists()
    with connection.cursor() as cursor:
        present = {name for name in trigger_names() if _trigger_exists(cursor, name)}
    assert present == set(trigger_names())


def _trigger_exists(cursor, name: str) -> bool:
    if connection.vendor == "sqlite":
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name])
    else:
        cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", [name])
    return cursor.fetchone() is not None


def test_the_sqlite_database_uses_the_backend_whose_flush_passes_the_triggers() -> None:
    from django.conf import settings

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL flushes with TRUNCATE, which row triggers do not see: Django's backend is used")
    assert settings.DATABASES["default"]["ENGINE"] == "needlepoint.operations.sqlite"
