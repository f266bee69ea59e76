"""The progress page: pain at each visit, questionnaire totals with change from baseline and responder status,
ROM against normal; several observations on one day; bounded queries with 100 visits; the PDF reports."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from needlepoint.accounts.models import AuditEntry
from needlepoint.outcomes import actions
from needlepoint.outcomes.progress import episode_progress
from tests.conftest import audit_lock_queries, client_for
from tests.outcomes.conftest import add_visits, days_ago, odi


def url(episode, tail: str = "") -> str:
    return f"/patients/{episode.patient_id}/episodes/{episode.pk}/outcomes/{tail}"


@pytest.fixture
def treated(clinician, lbp_episode):
    """An LBP episode: ODI 60 % at baseline, 40 % then 30 % later; pain 7 -> 3 over four visits; ROM."""
    clinic = lbp_episode.clinic
    clinic.address, clinic.phone = "1 Quay Road", "(207) 555-0100"
    clinic.save()
    actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(3), time_point="baseline", observed_at=days_ago(30))
    actions.record_questionnaire(
        clinician, lbp_episode, "ODI", odi(2), time_point="reassessment", observed_at=days_ago(15)
    )
    actions.record_questionnaire(
        clinician,
        lbp_episode,
        "ODI",
        odi(1) | {"lifting": 2, "walking": 2, "sitting": 2, "standing": 2, "sleeping": 2},
        time_point="reassessment",
        observed_at=days_ago(2),
        source="patient",
    )
    add_visits(lbp_episode, clinician, [(7, 4), (6, 4), (5, 2), (3, 1)], days_ago(29))
    actions.record_rom(
        clinician,
        lbp_episode,
        joint="thoracolumbar_spine",
        movement="flexion",
        side=None,
        degrees=45,
        method="inclinometer",
        time_point="baseline",
        observed_at=days_ago(30),
    )
    actions.record_rom(
        clinician,
        lbp_episode,
        joint="thoracolumbar_spine",
        movement="flexion",
        side=None,
        degrees=70,
        method="inclinometer",
        time_point="reassessment",
        observed_at=days_ago(2),
    )
    return lbp_episode


def test_change_from_baseline_and_responder_status(treated) -> None:
    data = episode_progress(treated)
    odi_series = next(s for s in data.series if s.code == "ODI")
    assert odi_series.baseline.value == 60.0 and odi_series.latest.value == 30.0
    assert odi_series.change.points == -30.0 and odi_series.change.percent == -50.0
    assert odi_series.change.is_responder is True and odi_series.change.beyond_mdc is True
    assert odi_series.band() == (50.0, 60.0)
    assert data.pain.change.points == -4.0 and data.pain.change.is_responder is True
    assert [v.relief for v in data.pain.visits] == [3, 2, 3, 2] and data.pain.first_relief_visit == 1
    assert data.rom[0].change.degrees == 25.0 and data.rom[0].change.beyond_mdc is True
    psfs = next(s for s in data.series if s.code == "PSFS")
    assert psfs.points == [] and psfs.change is None


def test_the_page_shows_score_change_responder_and_plots(clinician, treated) -> None:
    page = client_for(clinician).get(url(treated))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="latest-ODI">30<' in html
    assert 'data-testid="change-ODI">-30 points<' in html
    assert re.search(r'data-testid="status-ODI">\s*<span class="badge ok responder">Responder', html)
    assert "patient-reported" in html
    assert html.count("<svg") == 3  # pain, ODI and ROM; PSFS has no data, so no plot
    assert 'aria-label="Pain before and after each visit"' in html
    assert 'aria-label="Oswestry Disability Index over time"' in html
    assert 'aria-label="Range of motion against normal"' in html
    assert "MCID band from baseline" in html
    assert "Server-Timing" in page.headers


def test_a_non_responder_and_a_missing_baseline_are_said_plainly(clinician, lbp_episode) -> None:
    actions.record_questionnaire(
        clinician, lbp_episode, "ODI", odi(2), time_point="reassessment", observed_at=days_ago(9)
    )
    assert "No baseline recorded yet" in episode_progress(lbp_episode).series[0].note
    actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(2), time_point="baseline", observed_at=days_ago(8))
    actions.record_questionnaire(
        clinician,
        lbp_episode,
        "ODI",
        odi(2) | {"lifting": 0, "walking": 0},
        time_point="reassessment",
        observed_at=days_ago(1),
    )
    series = episode_progress(lbp_episode).series[0]
    assert series.change.points == -8.0 and series.change.is_responder is False
    html = client_for(clinician).get(url(lbp_episode)).content.decode()
    assert "Not yet a responder" in html


def test_several_observations_on_one_day_are_all_shown_in_order(clinician, lbp_episode) -> None:
    for hour, level in ((9, 3), (13, 2), (17, 1)):
        actions.record_questionnaire(
            clinician, lbp_episode, "ODI", odi(level), time_point="visit", observed_at=days_ago(4, hour=hour)
        )
    actions.record_questionnaire(
        clinician, lbp_episode, "ODI", odi(4), time_point="baseline", observed_at=days_ago(10, hour=9)
    )
    series = episode_progress(lbp_episode).series[0]
    assert [p.value for p in series.points] == [80.0, 60.0, 40.0, 20.0]
    assert series.same_day == {days_ago(4).date(): 3}
    html = client_for(clinician).get(url(lbp_episode)).content.decode()
    assert f"3 observations on {days_ago(4).date():%Y-%m-%d} are each shown, in the order taken" in html
    # all four totals are labelled in the plot, none merged
    odi_svg = html[html.index('aria-label="Oswestry Disability Index over time"') :]
    odi_svg = odi_svg[: odi_svg.index("</svg>")]
    for value in (">80<", ">60<", ">40<", ">20<"):
        assert value in odi_svg


def test_the_page_with_100_visits_keeps_a_bounded_query_count(
    clinician, lbp_episode, django_assert_max_num_queries
) -> None:
    add_visits(lbp_episode, clinician, [(7 - n % 5, 3 - n % 3) for n in range(100)], days_ago(55))
    for n in range(30):
        actions.record_questionnaire(
            clinician,
            lbp_episode,
            "ODI",
            odi(n % 5),
            time_point="baseline" if n == 0 else "visit",
            observed_at=days_ago(50 - n),
        )
    client = client_for(clinician)
    client.get(url(lbp_episode))  # warm the session
    # session, user, membership, episode + audit read, observations, visits, ROM, plan, links, the plots (one
    # read of the shared cache), session save
    with django_assert_max_num_queries(15 + audit_lock_queries()):  # 14 and the audit chain's last hash
        page = client.get(url(lbp_episode))
    assert page.status_code == 200 and "Pain per visit (100 visits)" in page.content.decode()


def test_front_desk_never_sees_outcomes_and_other_clinics_see_nothing(front_desk, outsider, treated) -> None:
    assert client_for(front_desk).get(url(treated)).status_code == 403
    assert client_for(front_desk).get(url(treated, "report.pdf?for=patient")).status_code == 403
    assert client_for(outsider).get(url(treated)).status_code == 404
    assert client_for(outsider).get(url(treated, "report.pdf?for=doctor")).status_code == 404


@pytest.mark.parametrize("audience", ["patient", "doctor"])
def test_the_one_page_pdf_report(clinician, treated, audience) -> None:
    response = client_for(clinician).get(url(treated, f"report.pdf?for={audience}"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = " ".join((reader.pages[0].extract_text() or "").split())
    assert AuditEntry.objects.filter(action="export", object_type="patients.Episode").exists()
    # The clinician with licence, the clinic's contact details, a treatment summary, and "4 visits" in words.
    assert "Clinician: Alice, Physical therapist, licence PT-1" in text and "Phone (207) 555-0100" in text
    assert "4 visits" in text and "1 visits" not in text and " ." not in text and ".." not in text
    if audience == "doctor":
        assert "ICD-10-CM M54.50" in text and "No signed visits yet (and 4 visits not yet signed)." in text
        assert "change -4 (responder, MCID 2 points)" in text and "change -30 points" in text
    else:
        assert "No dry needling so far." in text and "clinically important improvement" in text


def test_one_visit_is_one_visit_on_the_patients_report(clinician, lbp_episode) -> None:
    add_visits(lbp_episode, clinician, [(6, 3)], days_ago(3))
    reader = PdfReader(io.BytesIO(client_for(clinician).get(url(lbp_episode, "report.pdf?for=patient")).content))
    text = " ".join((reader.pages[0].extract_text() or "").split())
    assert "· 1 visit" in text and "1 visits" not in text


def test_an_unknown_report_audience_is_not_found(clinician, treated) -> None:
    assert client_for(clinician).get(url(treated, "report.pdf?for=insurer")).status_code == 404


def test_the_episode_page_shows_the_outcomes_panel(clinician, treated) -> None:
    page = client_for(clinician).get(f"/patients/{treated.patient_id}/episodes/{treated.pk}/")
    assert page.status_code == 200
    assert b"Progress page" in page.content and b"Responder" in page.content


def test_an_empty_episode_renders(clinician, lbp_episode) -> None:
    page = client_for(clinician).get(url(lbp_episode))
    assert page.status_code == 200 and b"No pain recorded yet" in page.content
    pdf = client_for(clinician).get(url(lbp_episode, "report.pdf?for=doctor"))
    assert pdf.content.startswith(b"%PDF")


def test_plots_are_reused_until_the_data_changes(clinician, lbp_episode) -> None:
    from needlepoint.outcomes import plots

    client = client_for(clinician)
    actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(3), time_point="baseline", observed_at=days_ago(9))

    def odi_plot() -> str:
        html = client.get(url(lbp_episode)).content.decode()
        start = html.index('aria-label="Oswestry Disability Index over time"')
        return html[start : html.index("</svg>", start)]

    first = odi_plot()
    assert odi_plot() == first  # same data: the cached drawing
    series = episode_progress(lbp_episode).series[0]
    assert plots.cached(plots.series_svg, series) == plots.cached(plots.series_svg, series)
    later = odi(2) | {"lifting": 1, "walking": 1}  # 18 of 50 = 36 %
    actions.record_questionnaire(clinician, lbp_episode, "ODI", later, time_point="reassessment")
    second = odi_plot()
    assert ">36<" in second and ">36<" not in first


def test_plots_are_kept_in_the_database_cache_every_worker_shares(clinician, lbp_episode) -> None:
    """A drawing made by one worker process is found by the others: it lives in the database, not in memory."""
    from django.db import connection

    from needlepoint.outcomes import plots

    drawn: list[int] = []

    def counting_render(value: int) -> str:
        drawn.append(value)
        return f"<svg>{value}</svg>"

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM needlepoint_cache")
        before = cursor.fetchone()[0]
        assert plots.cached(counting_render, 41) == plots.cached(counting_render, 41) == "<svg>41</svg>"
        cursor.execute("SELECT COUNT(*) FROM needlepoint_cache")
        assert cursor.fetchone()[0] == before + 1
    assert drawn == [41]  # the second call read the stored drawing


def test_scores_and_changes_are_shown_with_at_most_one_decimal() -> None:
    from needlepoint.outcomes.progress import short, signed

    assert [short(v) for v in (8.666666, 40.0, 35.5, -0.04, 0.0)] == ["8.7", "40", "35.5", "0", "0"]
    assert [signed(v) for v in (2.6666, -30.0, 0.0, 0.04)] == ["+2.7", "-30", "0", "0"]


def test_a_change_inside_the_mdc_is_not_called_clinically_important(clinician, patient) -> None:
    # QuickDASH 75 -> 59.1: 15.9 points reaches the MCID (14) but not the MDC (17.1, van Kampen 2013)
    from needlepoint.outcomes.reports import report_context
    from needlepoint.outcomes.scoring import instrument
    from tests.outcomes.conftest import open_episode

    episode = open_episode(clinician, patient, "lateral_epicondylalgia", "M77.11", "right", days_ago=30)
    items = [i.id for i in instrument("QUICKDASH").core_items]
    for answers, point, when in (([4] * 11, "baseline", 28), ([4] * 4 + [3] * 7, "reassessment", 1)):
        actions.record_questionnaire(
            clinician, episode, "QUICKDASH", dict(zip(items, answers, strict=True)), time_point=point,
            observed_at=days_ago(when),
        )  # fmt: skip
    page = client_for(clinician).get(f"/patients/{patient.pk}/episodes/{episode.pk}/outcomes/")
    status = page.content.decode()
    assert "Not yet a responder" in status and "within the MDC" in status
    lines = " ".join(report_context(episode_progress(episode), "patient")["lines"])
    assert "not yet as large as a clinically important change" in lines
    assert "This is a clinically important improvement" not in lines
