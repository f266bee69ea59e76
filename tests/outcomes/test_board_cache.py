"""The dashboard's re-assessment board is kept in the shared cache: a warm dashboard reads it without working
out any episode's schedule (a fixed number of queries for any number of episodes), still records the patients
it lists in the audit trail, and a write through each kind of action shows on the next dashboard at once.

These tests commit (``transaction=True``): the board is stored and the clinic's generation ended only outside
a transaction, as in production, where each request commits its own.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry, Membership
from needlepoint.insights.importer import ImportOptions, import_outcomes
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.outcomes.models import SelfReportLink
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Episode, Patient
from tests.conftest import audit_lock_queries, client_for, make_member
from tests.insights.test_import import GOOD, LONG, csv_bytes
from tests.outcomes.conftest import open_episode, overdue_episodes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_cache")]

ROW = 'data-testid="reassessment-overdue"'
PSFS_FORM = {"activity_1": "4", "activity_2": "5", "activity_3": "6"}


@pytest.fixture
def late(clinician, patient) -> Episode:
    """Opened 25 days ago: the baseline and day 14 of NDI and PSFS are overdue."""
    return open_episode(clinician, patient, "neck_pain", "M54.2", "central", days_ago=25)


def board(client: Client) -> str:
    """The dashboard's re-assessment section, read from the stored board: fails if the schedule was worked out."""
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/")
    assert page.status_code == 200
    worked_out = [q["sql"] for q in queries.captured_queries if "outcomes_observation" in q["sql"]]
    assert not worked_out, "the board was worked out again instead of read from the cache"
    html = page.content.decode()
    return html[html.index('data-testid="reassessments"') :]


def warm(client: Client) -> str:
    """Show the dashboard once (the board is worked out and stored), then again from the cache."""
    assert client.get("/").status_code == 200
    return board(client)


def fresh(client: Client) -> str:
    """The dashboard after a write: the board is worked out again (the write ended the clinic's generation)."""
    page = client.get("/").content.decode()
    return page[page.index('data-testid="reassessments"') :]


@pytest.mark.parametrize("episodes", [1, 6])
def test_a_warm_dashboard_reads_the_board_in_a_fixed_number_of_queries(
    clinician, episodes, django_assert_max_num_queries
) -> None:
    overdue_episodes(clinician, episodes)
    client = client_for(clinician)
    assert client.get("/").status_code == 200
    # The page's own lists, one cache query for the board, the listed patients and the clinicians' names, the
    # audit entry and the session: the same for 1 or 6 episodes (none of them reads an episode's schedule).
    with django_assert_max_num_queries(21 + audit_lock_queries()):
        html = board(client)
    assert html.count(ROW) == episodes and "NDI, PSFS" in html and "not sent" in html


def test_every_showing_of_the_stored_board_records_the_patients_it_lists(clinician, late) -> None:
    client = client_for(clinician)
    warm(client)
    # The dashboard's one audit entry names each list it showed and whose records were in it.
    named = f"dashboard: re-assessments overdue: 1 shown, patients {late.patient_id}"
    before = AuditEntry.objects.filter(summary__contains=named, user_id=clinician.user_id).count()
    board(client)
    assert AuditEntry.objects.filter(summary__contains=named, user_id=clinician.user_id).count() == before + 1


def test_each_membership_reads_its_own_board(clinic, clinician, clinic_admin, colleague, late) -> None:
    for who, rows in ((clinician, 1), (colleague, 0), (clinic_admin, 1)):
        assert warm(client_for(who)).count(ROW) == rows


def test_an_answer_recorded_on_the_form_shows_at_once(clinician, late) -> None:
    client = client_for(clinician)
    assert "NDI, PSFS" in warm(client)
    url = f"/patients/{late.patient_id}/episodes/{late.pk}/outcomes/record/PSFS/"
    today = timezone.localdate().isoformat()
    form = {"time_point": "reassessment", "observed_on": today, "source": "clinician"} | PSFS_FORM
    assert client.post(url, form).status_code == 302
    html = fresh(client)
    assert html.count(ROW) == 1 and "NDI, PSFS" not in html and "<td>NDI</td>" in html


def test_a_visit_by_a_colleague_moves_the_row_to_the_colleague_s_board_at_once(
    clinician, colleague, cleared_patient
) -> None:
    episode = open_episode(clinician, cleared_patient, "neck_pain", "M54.2", "central", days_ago=25)
    mine, theirs = client_for(clinician), client_for(colleague)
    assert warm(mine).count(ROW) == 1 and warm(theirs).count(ROW) == 0
    assert theirs.post(f"/episodes/{episode.pk}/visits/new/").status_code == 302
    assert fresh(mine).count(ROW) == 0 and fresh(theirs).count(ROW) == 1


def test_a_discharge_shows_at_once(clinician, late) -> None:
    client = client_for(clinician)
    assert warm(client).count(ROW) == 1
    today = timezone.localdate().isoformat()
    page = client.post(
        f"/patients/{late.patient_id}/episodes/{late.pk}/", {"discharge_date": today, "reason": "goals_met"}
    )
    assert page.status_code in (200, 302)
    assert Episode.objects.get(pk=late.pk).status == Episode.Status.DISCHARGED
    # Discharged today: day 14's window closes, and the discharge measure is due but not yet overdue.
    assert fresh(client).count(ROW) == 0


@pytest.mark.usefixtures("clinic_wording")
def test_a_link_sent_cancelled_and_answered_shows_at_once(clinician, late) -> None:
    client = client_for(clinician)
    assert "not sent" in warm(client)
    form = {"episode": late.pk, "time_point": "reassessment", "days": "7", "channel": "copy"}
    assert client.post(f"/patients/{late.patient_id}/self-report-link/", form).status_code in (200, 302)
    link = SelfReportLink.objects.get()
    assert "sent, not answered" in fresh(client)
    assert "sent, not answered" in board(client)

    client.post(f"/patients/{late.patient_id}/self-report-links/{link.pk}/cancel/")
    assert SelfReportLink.objects.get().cancelled_at is not None
    assert "not sent" in fresh(client) and "sent, not answered" not in board(client)

    issued = outcome_actions.create_self_report_link(clinician, late, time_point="reassessment")
    assert "sent, not answered" in fresh(client) and "sent, not answered" in board(client)
    answers = {f"NDI-{item}": "1" for item in _items("NDI")} | {f"PSFS-{k}": v for k, v in PSFS_FORM.items()}
    done = Client().post(f"/p/{issued.token}/", answers | {"NPRS-pain": "3"})
    assert done.status_code == 200 and b"Thank you" in done.content
    assert fresh(client).count(ROW) == 0


def test_a_change_of_the_clinic_s_plan_shows_at_once(clinician, clinic_admin, late) -> None:
    client = client_for(clinician)
    assert "NDI, PSFS" in warm(client)
    saved = client_for(clinic_admin).post("/outcomes/instruments/", {"condition": "neck_pain", "instruments": "PSFS"})
    assert saved.status_code == 302
    html = fresh(client)
    assert "NDI" not in html and "<td>PSFS</td>" in html


def test_a_death_recorded_on_the_chart_shows_at_once(clinician, late) -> None:
    client = client_for(clinician)
    assert warm(client).count(ROW) == 1
    version = str(Patient.objects.get(pk=late.patient_id).version)
    client.post(f"/patients/{late.patient_id}/death/", {"deceased_date": "", "right_chart": "on", "version": version})
    assert Patient.objects.get(pk=late.patient_id).deceased
    assert fresh(client).count(ROW) == 0


def test_a_patient_s_new_phone_number_leaves_the_stored_board_in_place(clinician, late) -> None:
    """A save of a patient that changes nothing the board reads does not make every board be worked out again,
    and the listed name is read afresh: a renamed patient shows at once."""
    client = client_for(clinician)
    warm(client)
    version = Patient.objects.get(pk=late.patient_id).version
    patient_actions.update_patient(clinician, late.patient_id, {"phone": "+1 555 0199", "family_name": "Roe"}, version)
    html = board(client)
    assert html.count(ROW) == 1 and "Jane Roe" in html


def test_a_write_in_another_clinic_leaves_this_clinic_s_stored_board(clinician, other_clinic, late) -> None:
    client = client_for(clinician)
    warm(client)
    olga = make_member(other_clinic, "olga", "clinician", profession="physical_therapist")
    theirs = patient_actions.register_patient(
        olga, {"given_name": "Oda", "family_name": "Other", "date_of_birth": date(1970, 1, 1), "sex": "female"}
    )
    open_episode(olga, theirs, "neck_pain", "M54.2", "central", days_ago=25)
    assert board(client).count(ROW) == 1  # still the stored board: another clinic's write ends only its own


def test_an_outcome_import_shows_at_once(clinician, late) -> None:
    """The import writes its patients, episodes and scores in bulk, past the signals: it announces itself."""
    client = client_for(clinician)
    cached = section(client)
    options = ImportOptions(**{**LONG.__dict__, "start_date": timezone.localdate() - timedelta(days=60)})
    import_outcomes(clinician, csv_bytes(GOOD), "trial.csv", options)
    shown = section(client)
    cache.clear()
    worked_out = section(client)
    assert worked_out != cached  # the import changes the board (else this test would prove nothing)
    assert shown == worked_out


def test_a_role_change_reads_a_board_of_its_own(clinician, colleague, late) -> None:
    """The stored board belongs to the role too: a member made admin sees the clinic's rows, not the board
    stored for them as a clinician (a role change writes nothing the board reads)."""
    theirs = client_for(colleague)
    assert warm(theirs).count(ROW) == 0
    Membership.objects.filter(pk=colleague.pk).update(role="clinic_admin")
    assert section(theirs).count(ROW) == 1


def test_an_unreadable_cache_still_shows_the_dashboard(clinician, late) -> None:
    """A cache that cannot be read or written (here its table is missing) costs the board's speed, not the page."""
    broken = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "no_cache_table"}}
    client = client_for(clinician)
    with override_settings(CACHES=broken):  # Django's test signals make the cache connections afresh
        page = client.get("/")
    assert page.status_code == 200 and page.content.decode().count(ROW) == 1


def section(client: Client) -> str:
    """The dashboard's re-assessment section as shown, however it was obtained."""
    html = client.get("/").content.decode()
    part = html[html.index('data-testid="reassessments"') :]
    return part[: part.index("</section>")]


def _items(code: str) -> list[str]:
    from needlepoint.outcomes.scoring import instrument

    return [item.id for item in instrument(code).items]
