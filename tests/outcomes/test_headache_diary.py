"""The headache diary through a diary link: the link's life-cycle (reusable until it expires or is cancelled,
the patient's alone), which days may be written, same-day changes kept in the audit trail, the months and
responder status on the progress page, and the function the claims report reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.audit_words import describe_entries
from needlepoint.accounts.models import AuditEntry
from needlepoint.outcomes import actions
from needlepoint.outcomes.headache_diary import diary_responders, episode_diary
from needlepoint.outcomes.models import HeadacheDiaryEntry, SelfReportLink
from tests.conftest import client_for
from tests.outcomes.conftest import open_episode

# A clinic enters its licensed wording before a questionnaire can go to a patient (the product refuses otherwise).
pytestmark = pytest.mark.usefixtures("clinic_wording")


@pytest.fixture
def migraine(clinician, patient):
    return open_episode(clinician, patient, "migraine", "G43.009", "bilateral")


@pytest.fixture
def issued(clinician, migraine):
    return actions.create_diary_link(clinician, migraine)


def day_form(day, headache="yes", worst="6", hours="3", medication="yes") -> dict[str, str]:
    return {
        "day": day.isoformat(),
        "headache": headache,
        "worst_intensity": worst,
        "hours": hours,
        "acute_medication": medication,
    }


def backdate(link: SelfReportLink, days: int) -> None:
    """Move a link's creation (so the diary's start) ``days`` back, as if sent then."""
    SelfReportLink.objects.filter(pk=link.pk).update(created_at=timezone.now() - timedelta(days=days))


def seed_days(link: SelfReportLink, first_days_ago: int, count: int, headache_every: int) -> None:
    """Diary rows written earlier by the patient (through the link; dated in the past)."""
    today = timezone.localdate()
    for n in range(count):
        ache = n % headache_every == 0
        HeadacheDiaryEntry.objects.create(
            clinic_id=link.clinic_id,
            patient_id=link.patient_id,
            episode_id=link.episode_id,
            link=link,
            day=today - timedelta(days=first_days_ago - n),
            headache=ache,
            worst_intensity=7 if ache else None,
            hours=4.0 if ache else None,
            acute_medication=ache,
        )


def test_a_diary_link_is_reusable_every_day_and_records_the_device(issued) -> None:
    backdate(issued.link, 2)
    client = Client(HTTP_USER_AGENT="PhoneBrowser/1.0")
    today = timezone.localdate()
    for back in (2, 1, 0):
        response = client.post(f"/p/{issued.token}/", day_form(today - timedelta(days=back), worst=str(3 + back)))
        assert response.status_code == 200, response.content.decode()[:400]
        assert b"Saved for" in response.content
    entries = list(HeadacheDiaryEntry.objects.order_by("day"))
    assert [e.worst_intensity for e in entries] == [5, 4, 3]
    assert all(e.submitted_user_agent == "PhoneBrowser/1.0" and e.submitted_from == "127.0.0.1" for e in entries)
    assert client.get(f"/p/{issued.token}/").status_code == 200  # still open after use
    trail = AuditEntry.objects.filter(object_type="outcomes.HeadacheDiaryEntry", via="link")
    assert trail.count() == 3 and trail.filter(user=None).count() == 3


def test_today_can_be_replaced_today_and_the_change_is_kept_and_audited(clinician, issued) -> None:
    today = timezone.localdate()
    client = Client()
    client.post(f"/p/{issued.token}/", day_form(today, worst="8", hours="5"))
    client.post(f"/p/{issued.token}/", day_form(today, headache="no", worst="", hours="", medication="no"))
    entry = HeadacheDiaryEntry.objects.get()
    assert (entry.headache, entry.worst_intensity, entry.hours, entry.acute_medication) == (False, None, None, False)
    assert entry.replaced[0]["worst_intensity"] == 8 and entry.replaced[0]["hours"] == 5.0
    actions_logged = list(
        AuditEntry.objects.filter(object_type="outcomes.HeadacheDiaryEntry")
        .order_by("pk")
        .values_list("action", "summary")
    )
    assert actions_logged[0][0] == "create" and "8/10" in actions_logged[0][1]
    assert actions_logged[-1][0] == "update" and "no headache" in actions_logged[-1][1]
    (read,) = describe_entries(
        list(AuditEntry.objects.filter(object_type="outcomes.HeadacheDiaryEntry", action="update")), clinician
    )
    assert read.record.words == f"Headache diary day {today:%Y-%m-%d}"


def test_a_past_day_once_written_is_closed_and_a_future_day_is_refused(issued) -> None:
    backdate(issued.link, 3)
    today = timezone.localdate()
    client = Client()
    client.post(f"/p/{issued.token}/", day_form(today - timedelta(days=1)))
    HeadacheDiaryEntry.objects.update(recorded_at=timezone.now() - timedelta(days=1))
    before = list(HeadacheDiaryEntry.objects.values())
    refused = client.post(f"/p/{issued.token}/", day_form(today - timedelta(days=1), worst="2"))
    assert refused.status_code == 400 and b"can no longer be changed" in refused.content
    assert list(HeadacheDiaryEntry.objects.values()) == before
    with pytest.raises(ValidationError) as future:
        actions.record_diary_day(issued.token, today + timedelta(days=1), headache=False, acute_medication=False)
    assert "not happened yet" in str(future.value)
    # The form offers only the open days: a day it does not offer is refused before the action.
    assert client.post(f"/p/{issued.token}/", day_form(today + timedelta(days=1))).status_code == 400
    assert HeadacheDiaryEntry.objects.count() == 1


def test_inconsistent_answers_are_refused_with_the_field_named_and_nothing_stored(issued) -> None:
    response = Client().post(f"/p/{issued.token}/", day_form(timezone.localdate(), worst="", hours="30"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "Choose how bad the headache was" in text and "more than 0, at most 24" in text
    assert not HeadacheDiaryEntry.objects.exists()


def test_a_cancelled_or_expired_diary_link_is_refused_with_a_clear_message(
    clinician, front_desk, migraine, issued
) -> None:
    actions.cancel_link(front_desk, issued.link)
    response = Client().get(f"/p/{issued.token}/")
    assert response.status_code == 410 and b"The clinic cancelled this link" in response.content
    posted = Client().post(f"/p/{issued.token}/", day_form(timezone.localdate()))
    assert posted.status_code == 410 and not HeadacheDiaryEntry.objects.exists()
    with pytest.raises(ValidationError):
        actions.cancel_link(clinician, issued.link)  # already cancelled

    second = actions.create_diary_link(clinician, migraine, days=1)
    SelfReportLink.objects.filter(pk=second.link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = Client().get(f"/p/{second.token}/")
    assert expired.status_code == 410 and b"This link expired on" in expired.content


def test_a_signed_in_staff_session_cannot_write_the_patients_diary(clinician, issued) -> None:
    staff = client_for(clinician)
    assert staff.get(f"/p/{issued.token}/").status_code == 403
    assert staff.post(f"/p/{issued.token}/", day_form(timezone.localdate())).status_code == 403
    assert not HeadacheDiaryEntry.objects.exists()


def test_a_diary_link_and_a_questionnaire_link_cannot_stand_in_for_each_other(clinician, migraine, issued) -> None:
    questionnaire = actions.create_self_report_link(clinician, migraine)
    with pytest.raises(actions.LinkRefused):
        actions.record_diary_day(questionnaire.token, timezone.localdate(), headache=False, acute_medication=False)
    with pytest.raises(actions.LinkRefused):
        actions.submit_self_report(issued.token, {}, pain=3)
    assert not issued.link.observations.exists()


def test_only_headache_episodes_get_a_diary_and_only_the_clinic_sends_one(
    clinician, outsider, patient, migraine
) -> None:
    neck = open_episode(clinician, patient, "neck_pain", "M54.2", "central")
    with pytest.raises(ValidationError):
        actions.create_diary_link(clinician, neck)
    with pytest.raises(ValidationError):
        actions.create_diary_link(clinician, migraine, days=400)
    with pytest.raises(Exception):  # noqa: B017 - another clinic's member is refused (access or validation)
        actions.create_diary_link(outsider, migraine)
    assert not SelfReportLink.objects.exists()


def test_every_diary_link_of_an_episode_writes_one_diary_from_the_first_links_day(clinician, migraine, issued) -> None:
    backdate(issued.link, 40)
    actions.cancel_link(clinician, issued.link)
    second = actions.create_diary_link(clinician, migraine)
    assert actions.diary_start(migraine.pk) == timezone.localdate() - timedelta(days=40)
    actions.record_diary_day(second.token, timezone.localdate(), headache=False, acute_medication=False)
    summary = episode_diary(migraine)
    assert summary.start == timezone.localdate() - timedelta(days=40)
    assert [p.number for p in summary.periods] == [1, 2] and summary.periods[1].recorded_days == 1


def test_the_clinician_sees_months_medication_days_and_the_responder_on_the_progress_page(
    clinician, migraine, issued, django_assert_max_num_queries
) -> None:
    backdate(issued.link, 60)
    seed_days(issued.link, 60, 28, headache_every=2)  # baseline: 14 headache days, 14 medication days
    seed_days(issued.link, 32, 28, headache_every=4)  # month 2: 7 and 7
    client = client_for(clinician)
    url = f"/patients/{migraine.patient_id}/episodes/{migraine.pk}/outcomes/"
    client.get(url)  # warm caches (plots, session)
    with django_assert_max_num_queries(40):
        page = client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="headache-days-1">14<' in text and 'data-testid="medication-days-2">7<' in text
    assert "Responder" in text and "50% fewer headache days than at baseline" in text


def test_the_diary_section_is_only_on_headache_episodes(clinician, patient) -> None:
    neck = open_episode(clinician, patient, "neck_pain", "M54.2", "central")
    page = client_for(clinician).get(f"/patients/{patient.pk}/episodes/{neck.pk}/outcomes/")
    assert b"headache-diary" not in page.content


def test_the_clinician_starts_and_cancels_a_diary_link_from_the_progress_page(clinician, migraine) -> None:
    client = client_for(clinician)
    url = f"/patients/{migraine.patient_id}/episodes/{migraine.pk}/outcomes/diary-link/"
    shown = client.post(url, {"action": "start"})
    assert shown.status_code == 200 and b'data-testid="diary-url"' in shown.content
    link = SelfReportLink.objects.get(kind="diary")
    client.post(url, {"action": "cancel", "link": str(link.pk)})
    link.refresh_from_db()
    assert link.status() == "cancelled" and link.cancelled_by_id == clinician.pk
    assert client.get(url).status_code == 302


def test_the_claims_report_reads_each_headache_episodes_responder_in_a_fixed_number_of_queries(
    clinician, patient, migraine, issued, django_assert_num_queries
) -> None:
    backdate(issued.link, 60)
    seed_days(issued.link, 60, 28, headache_every=2)
    seed_days(issued.link, 32, 28, headache_every=2)  # no change: not a responder
    tension = open_episode(clinician, patient, "tension_type_headache", "G44.209", "bilateral")
    neck = open_episode(clinician, patient, "neck_pain", "M54.2", "central")
    with django_assert_num_queries(2):
        found = diary_responders([migraine, tension, neck])
    assert set(found) == {migraine.pk, tension.pk}
    assert found[migraine.pk].responder.status == "not_responder"
    assert found[migraine.pk].periods[0].headache_days == 14
    assert found[tension.pk].responder.status == "not_judged" and found[tension.pk].start is None
