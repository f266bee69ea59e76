"""The dashboard's work queues (unsigned visits, re-assessments overdue) show their oldest rows, the count of all
and a link to the whole queue on its own page; the pages list the same rows, for the same people, and record
what they showed in the audit trail. Real HTTP through the test client, on the test database."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions as patient_actions
from needlepoint.visits import actions
from needlepoint.visits.dashboard import QUEUE_HEAD_ROWS
from tests.conftest import audit_lock_queries, client_for
from tests.outcomes.conftest import open_episode
from tests.visits.visit_helpers import date_episode_back

UNSIGNED_ROW = 'data-testid="unsigned-visit"'
REASSESSMENT_ROW = 'data-testid="reassessment-overdue"'


def _unsigned(membership, episode, hours_ago: list[int]) -> list[int]:
    """Visits by ``membership`` started ``hours_ago`` hours back, left unsigned; their ids in the given order."""
    date_episode_back(episode, 20)
    visits = [
        actions.start_visit(membership, episode, {"started_at": timezone.now() - timedelta(hours=h)}) for h in hours_ago
    ]
    return [v.pk for v in visits]


def _visit_links(html: str) -> list[int]:
    """The visits linked from the unsigned rows, in page order."""
    rows = [row for row in html.split("<tr") if UNSIGNED_ROW in row]
    return [int(re.search(r'href="/visits/(\d+)/"', row).group(1)) for row in rows]


def _card(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


def test_the_dashboard_shows_the_oldest_unsigned_visits_and_links_to_all(clinician, episode) -> None:
    # Fourteen visits, started 1 to 14 days back: the oldest is the one to sign first.
    ids = _unsigned(clinician, episode, [24 * d + 1 for d in range(1, 15)])
    oldest_first = list(reversed(ids))
    client = client_for(clinician)
    card = _card(client.get("/").content.decode(), "unsigned")
    assert _visit_links(card) == oldest_first[:QUEUE_HEAD_ROWS]
    assert f"Showing the oldest {QUEUE_HEAD_ROWS} of 14." in card and "14 overdue" in card
    assert 'href="/visits/unsigned/"' in card

    page = client.get("/visits/unsigned/").content.decode()
    assert _visit_links(page) == oldest_first
    assert 'data-testid="unsigned-count">14<' in page and "14 overdue" in page and "Showing the oldest" not in page


def test_a_short_queue_is_shown_whole_without_a_link(clinician, episode) -> None:
    _unsigned(clinician, episode, [2, 3])
    card = _card(client_for(clinician).get("/").content.decode(), "unsigned")
    assert card.count(UNSIGNED_ROW) == 2 and "Showing the oldest" not in card and "/visits/unsigned/" not in card


def test_the_unsigned_page_is_the_clinician_s_own_and_the_clinic_s_for_an_admin(
    clinician, colleague, clinic_admin, front_desk, episode
) -> None:
    mine = _unsigned(clinician, episode, [5])
    theirs = _unsigned(colleague, episode, [4])
    assert _visit_links(client_for(clinician).get("/visits/unsigned/").content.decode()) == mine
    assert _visit_links(client_for(colleague).get("/visits/unsigned/").content.decode()) == theirs
    admin_page = client_for(clinic_admin).get("/visits/unsigned/").content.decode()
    assert _visit_links(admin_page) == mine + theirs and "<th>Clinician</th>" in admin_page
    assert client_for(front_desk).get("/visits/unsigned/").status_code == 403


def test_the_unsigned_page_records_the_patients_it_lists(clinician, episode) -> None:
    _unsigned(clinician, episode, [3, 2])
    client_for(clinician).get("/visits/unsigned/")
    entry = AuditEntry.objects.filter(user_id=clinician.user_id, action="read").latest("pk")
    assert f"unsigned visits: 2 shown, patients {episode.patient_id}" in entry.summary


@pytest.mark.parametrize("visits", [1, 12])
def test_the_unsigned_page_costs_the_same_however_many_it_lists(
    clinician, episode, visits, django_assert_max_num_queries
) -> None:
    _unsigned(clinician, episode, list(range(2, 2 + visits)))
    client = client_for(clinician)
    # The session, user and membership; the list (its counts come from it while it holds them all); the audit
    # entry chained to the last; the session saved (three, with its savepoint).
    with django_assert_max_num_queries(9 + audit_lock_queries()):
        assert client.get("/visits/unsigned/").status_code == 200


def _late_episodes(clinician, count: int) -> list[int]:
    """``count`` patients of ``clinician``, each with a neck-pain episode opened 25 days ago (day 14 overdue); their
    ids in the list's order: due the same day, so by the episode, the first opened first."""
    patients = []
    for n in range(count):
        patient = patient_actions.register_patient(
            clinician,
            {
                "given_name": f"P{n}",
                "family_name": f"Late {clinician.user.username}",
                "date_of_birth": date(1970, 1, 1),
                "sex": "female",
            },
        )
        open_episode(clinician, patient, "neck_pain", "M54.2", "central", days_ago=25)
        patients.append(patient.pk)
    return patients


def _patient_links(html: str) -> list[int]:
    """The patients linked from the re-assessment rows, in page order."""
    rows = [row for row in html.split("<tr") if REASSESSMENT_ROW in row]
    return [int(re.search(r'href="/patients/(\d+)/"', row).group(1)) for row in rows]


def test_the_dashboard_shows_the_oldest_re_assessments_and_links_to_all(clinician) -> None:
    longest_overdue_first = _late_episodes(clinician, QUEUE_HEAD_ROWS + 2)
    client = client_for(clinician)
    card = _card(client.get("/").content.decode(), "reassessments")
    assert _patient_links(card) == longest_overdue_first[:QUEUE_HEAD_ROWS]
    assert f"Showing the oldest {QUEUE_HEAD_ROWS} of {QUEUE_HEAD_ROWS + 2}." in card
    assert 'href="/outcomes/reassessments-overdue/"' in card

    page = client.get("/outcomes/reassessments-overdue/").content.decode()
    assert _patient_links(page) == longest_overdue_first and "Showing the oldest" not in page
    assert f'data-testid="reassessments-overdue-count">{QUEUE_HEAD_ROWS + 2}<' in page
    assert "My re-assessments overdue" in page
    entry = AuditEntry.objects.filter(user_id=clinician.user_id, action="read").latest("pk")
    assert f"re-assessments overdue: {QUEUE_HEAD_ROWS + 2} shown" in entry.summary


def test_the_dashboard_records_only_the_rows_it_shows(clinician, episode) -> None:
    _unsigned(clinician, episode, [24 * d + 1 for d in range(1, 13)])
    _late_episodes(clinician, QUEUE_HEAD_ROWS + 2)
    client_for(clinician).get("/")
    entry = AuditEntry.objects.filter(user_id=clinician.user_id, action="read").latest("pk")
    assert f"dashboard: unsigned visits: {QUEUE_HEAD_ROWS} shown" in entry.summary
    assert f"dashboard: re-assessments overdue: {QUEUE_HEAD_ROWS} shown" in entry.summary


def test_the_re_assessments_page_is_the_clinician_s_own_and_the_clinic_s_for_an_admin(
    clinician, colleague, clinic_admin, front_desk, outsider
) -> None:
    mine = _late_episodes(clinician, 2)
    theirs = _late_episodes(colleague, 1)
    page = "/outcomes/reassessments-overdue/"
    assert _patient_links(client_for(clinician).get(page).content.decode()) == mine
    assert _patient_links(client_for(colleague).get(page).content.decode()) == theirs
    admin_page = client_for(clinic_admin).get(page).content.decode()
    assert sorted(_patient_links(admin_page)) == sorted(mine + theirs) and "My re-assessments" not in admin_page
    assert _patient_links(client_for(outsider).get(page).content.decode()) == []
    assert client_for(front_desk).get(page).status_code == 403


def test_another_clinic_s_unsigned_visits_are_not_listed(clinician, outsider, episode) -> None:
    _unsigned(clinician, episode, [3])
    assert _visit_links(client_for(outsider).get("/visits/unsigned/").content.decode()) == []
