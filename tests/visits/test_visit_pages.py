"""Visit pages over real HTTP: the dashboard, the visit page and its htmx fragments, adverse events,
panels, and a bounded query count as history grows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from needlepoint.visits import actions
from needlepoint.visits.models import NeedlingEntry, Visit
from tests.conftest import audit_lock_queries, client_for
from tests.visits.visit_helpers import add, date_episode_back, entry, fresh, reconcile, signed_visit

HX = {"HTTP_HX_REQUEST": "true"}


def post_entry(client, visit, version, **change):
    data = {k: ("" if v is None else v) for k, v in entry(**change).items()}
    return client.post(f"/visits/{visit.pk}/needling/", data | {"version": str(version)}, **HX)


def test_the_dashboard_is_the_home_page_for_clinicians(clinician, front_desk, visit) -> None:
    page = client_for(clinician).get("/")
    assert page.status_code == 200
    assert b"Today's patients" in page.content and b"Unsigned visits" in page.content
    assert client_for(front_desk).get("/")["Location"] == "/patients/"


def test_the_dashboard_lists_unsigned_overdue_visits_and_events_due(clinician, episode) -> None:
    old = actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(minutes=1)})
    Visit.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(hours=30))
    actions.record_adverse_event(
        clinician,
        old.pk,
        {
            "event_type": "bruising",
            "severity": "mild",
            "onset_at": timezone.now() - timedelta(hours=29),
            "action_taken": "Pressure applied",
            "outcome": "ongoing",
            "follow_up_due": timezone.localdate(),
        },
    )
    page = client_for(clinician).get("/").content.decode()
    assert "1 overdue" in page and "Bruising" in page and "overdue" in page


def test_adding_a_muscle_answers_with_a_fragment_not_a_page(clinician, visit) -> None:
    client = client_for(clinician)
    response = post_entry(client, visit, visit.version)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="workspace"' in body
    assert 'id="visit-version" value="2" hx-swap-oob="true"' in body
    assert "Infraspinatus" in body and "autofocus" in body
    assert NeedlingEntry.objects.count() == 1


def test_bad_input_on_the_page_shows_the_message_and_keeps_what_was_typed(clinician, visit) -> None:
    response = post_entry(client_for(clinician), visit, visit.version, needles=0, patient_response="Keep me")
    body = response.content.decode()
    assert "zero or negative is not a count" in body and 'value="Keep me"' in body
    assert not NeedlingEntry.objects.exists()


def test_a_warning_on_the_page_asks_for_a_reason_and_then_saves(clinician, visit) -> None:
    client = client_for(clinician)
    body = post_entry(client, visit, 1, muscle="piriformis", trigger_point="lateral").content.decode()
    assert "Reason to proceed" in body and 'name="ack:nerve_vessel:piriformis:right"' in body
    assert not NeedlingEntry.objects.exists()
    data = {k: ("" if v is None else v) for k, v in entry(muscle="piriformis", trigger_point="lateral").items()}
    data |= {"version": "1", "ack:nerve_vessel:piriformis:right": "Angled away from the sciatic nerve"}
    body = client.post(f"/visits/{visit.pk}/needling/", data, **HX).content.decode()
    assert "Acknowledged" in body and "Angled away from the sciatic nerve" in body


def test_the_second_clinician_is_refused_without_a_take_over_and_keeps_their_input(clinician, colleague, visit) -> None:
    first, second = client_for(clinician), client_for(colleague)
    assert post_entry(first, visit, 1).status_code == 200
    body = second.post(
        f"/visits/{visit.pk}/details/",
        {"version": "2", "started_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "subjective": "Mine"},
        **HX,
    ).content.decode()
    assert "This unsigned visit belongs to Alice" in body and ">\nMine</textarea>" in body
    assert fresh(visit).subjective == "" and fresh(visit).version == 2


def test_a_stale_page_of_the_same_clinician_gets_a_conflict_and_keeps_the_input(clinician, visit) -> None:
    first_tab = second_tab = client_for(clinician)
    assert post_entry(first_tab, visit, 1).status_code == 200
    body = second_tab.post(
        f"/visits/{visit.pk}/details/",
        {"version": "1", "started_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "subjective": "Mine"},
        **HX,
    ).content.decode()
    assert "Someone else changed this visit" in body and ">\nMine</textarea>" in body
    assert 'name="version" value="1"' in body  # saving again still conflicts until they reload
    assert fresh(visit).subjective == ""


def test_counts_signing_and_addendum_through_the_pages(clinician, colleague, visit) -> None:
    client = client_for(clinician)
    post_entry(client, visit, 1, needles=3)
    body = client.post(f"/visits/{visit.pk}/sign/", {"version": "2"}, **HX).content.decode()
    assert "Cannot sign" in body and fresh(visit).signed_at is None
    client.post(
        f"/visits/{visit.pk}/needle-counts/", {"version": "2", "opened": "3", "removed": "3", "in_sharps": "3"}, **HX
    )
    response = client.post(f"/visits/{visit.pk}/sign/", {"version": "3"}, **HX)
    assert response.status_code == 204 and response["HX-Redirect"] == f"/visits/{visit.pk}/"
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    assert "20560" in page and "All needles accounted for" in page
    client_for(colleague).post(f"/visits/{visit.pk}/addenda/", {"text": "Reviewed by colleague."})
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    assert "Reviewed by colleague." in page and page.index("Reviewed by colleague.") > page.index("CPT: 20560")


def test_starting_a_visit_copies_the_previous_needling_only_when_asked(clinician, episode, visit) -> None:
    signed_visit(clinician, visit)
    client = client_for(clinician)
    response = client.post(f"/episodes/{episode.pk}/visits/new/")
    plain = Visit.objects.exclude(pk=visit.pk).get()
    assert response["Location"] == f"/visits/{plain.pk}/"
    assert plain.needles_inserted == 0 and not plain.needling_entries.exists()
    page = client.get(f"/visits/{plain.pk}/").content.decode()
    assert 'data-testid="copy-previous"' in page  # the explicit choice is offered on the visit page
    client.post(f"/visits/{plain.pk}/sign/", {"version": str(plain.version)})
    response = client.post(f"/episodes/{episode.pk}/visits/new/", {"copy_previous": "1"})
    copied = Visit.objects.exclude(pk__in=[visit.pk, plain.pk]).get()
    assert response["Location"] == f"/visits/{copied.pk}/"
    assert copied.needles_inserted == 6 and copied.needling_entries.count() == 3


def test_an_adverse_event_days_later_and_its_follow_up(clinician, visit) -> None:
    signed = signed_visit(clinician, visit)
    client = client_for(clinician)
    later = (timezone.localtime() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    due = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = client.post(
        f"/visits/{signed.pk}/adverse-events/new/",
        {
            "event_type": "pain_after_24h",
            "severity": "mild",
            "onset_at": later,
            "action_taken": "Advice, heat",
            "outcome": "ongoing",
            "follow_up_due": due,
        },
    )
    assert response.status_code == 302, response.content
    event = signed.adverse_events.get()
    assert b"Pain lasting more than 24 hours" in client.get("/adverse-events/").content
    client.post(
        f"/adverse-events/{event.pk}/", {"note": "Settled", "outcome": "resolved", "close": "on", "version": "1"}
    )
    event.refresh_from_db()
    assert event.closed_at is not None
    assert b"No open adverse events" in client.get("/adverse-events/").content


def test_the_patient_and_episode_pages_show_recent_visits(clinician, episode, visit) -> None:
    client = client_for(clinician)
    patient_page = client.get(f"/patients/{episode.patient_id}/").content.decode()
    episode_page = client.get(f"/patients/{episode.patient_id}/episodes/{episode.pk}/").content.decode()
    assert f"/visits/{visit.pk}/" in patient_page and f"/visits/{visit.pk}/" in episode_page
    assert "Start a visit now" in episode_page


def test_front_desk_cannot_open_a_visit(front_desk, visit) -> None:
    assert client_for(front_desk).get(f"/visits/{visit.pk}/").status_code == 403


def _history(clinician, episode, visits: int) -> None:
    # Half an hour ago may be yesterday: the episode is dated a day back so those visits fall inside it.
    date_episode_back(episode, 1)
    for _ in range(visits):
        v = actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(minutes=30)})
        signed_visit(clinician, v)


@pytest.mark.parametrize("history", [1, 8])
def test_the_visit_page_keeps_a_bounded_query_count(clinician, episode, django_assert_max_num_queries, history) -> None:
    _history(clinician, episode, history)
    visit = actions.start_visit(clinician, episode, {})
    add(
        clinician,
        visit,
        muscle="piriformis",
        trigger_point="lateral",
        acknowledgements={"nerve_vessel:piriformis:right": {"precautions": ["directed_away"]}},
    )
    reconcile(clinician, visit)
    client = client_for(clinician)
    # One of each for the after-care sheets given (the page offers the sheet once needling is recorded).
    with django_assert_max_num_queries(21):
        assert client.get(f"/visits/{visit.pk}/").status_code == 200
    # Two of them: the visit's day, clinician and episode as stored, which the dashboard's stored re-assessment
    # board depends on (outcomes.board_cache: a save that changes none of them leaves the stored boards), and what
    # the dashboard's stored lists show of it (visits.dashboard.VISIT_FIELDS_SHOWN), each by its primary key.
    with django_assert_max_num_queries(35 + audit_lock_queries()):
        assert (
            post_entry(client, visit, fresh(visit).version, muscle="deltoid", trigger_point="middle").status_code == 200
        )


@pytest.mark.parametrize("history", [1, 8])
def test_the_dashboard_keeps_a_bounded_query_count(clinician, episode, django_assert_max_num_queries, history) -> None:
    _history(clinician, episode, history)
    actions.start_visit(clinician, episode, {})
    client = client_for(clinician)
    # 16: the dashboard's lists (today's visits say which were needled without after-care; the unsigned count
    # comes from the list when it holds them all), the appointments and needle-stick injuries, one audit entry
    # chained to the last, and the session; 6 more for the re-assessments overdue, worked out here because a test
    # runs in a transaction, where the stored board is not used (episodes, visits, answers, links out, plans,
    # clinicians' names; tests/outcomes/test_board_cache.py counts the stored board's).
    with django_assert_max_num_queries(22 + audit_lock_queries()):
        assert client.get("/").status_code == 200


def test_the_recent_visits_lists_cost_the_same_however_many_rows_they_show(clinician, episode) -> None:
    # The patient page's and the episode page's visit rows load only the fields they show (panels.VISIT_ROW_FIELDS):
    # a field left out would be read once per row.
    client = client_for(clinician)
    pages = [f"/patients/{episode.patient_id}/", f"/patients/{episode.patient_id}/episodes/{episode.pk}/"]

    def counts() -> list[int]:
        found = []
        for page in pages:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(page).status_code == 200
            found.append(len(queries))
        return found

    _history(clinician, episode, 1)
    counts()  # the first view of each page stores what later views read (the plots, the board)
    one = counts()
    _history(clinician, episode, 6)
    body = client.get(pages[0]).content.decode()
    assert counts() == one
    assert body.count("/visits/") >= 7 and "Neck pain" in body


def test_a_discharged_episode_offers_late_documentation_and_a_refused_start_says_why(clinician, episode) -> None:
    from needlepoint.patients.actions import discharge_episode

    discharge_episode(clinician, episode, timezone.localdate() - timedelta(days=1), "goals_met")
    client = client_for(clinician)
    page = client.get(f"/patients/{episode.patient_id}/episodes/{episode.pk}/").content.decode()
    assert 'data-testid="episode-closed"' in page and "Start a visit now" not in page

    # A one-click start posted from an older page: refused with the reason, shown where the click was made.
    response = client.post(f"/episodes/{episode.pk}/visits/new/", follow=True)
    assert "open a new episode for a later visit" in response.content.decode()
    assert not Visit.objects.filter(episode=episode).exists()


def test_the_entry_form_records_no_twitch_unless_the_clinician_says_so(clinician, visit) -> None:
    page = client_for(clinician).get(f"/visits/{visit.pk}/").content.decode()
    assert '<option value="none" selected>None</option>' in page
