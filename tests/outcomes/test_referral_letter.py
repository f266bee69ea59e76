"""The referral letter: letterhead, patient, episode with ICD-10-CM, treatment summary (visits, dates, muscles
needled with counts), outcomes against the MCID, the clinician and licence; as a page and as a PDF from the same
template; clinical roles only; audited; bounded queries."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from needlepoint.accounts.models import AuditEntry
from needlepoint.outcomes import actions
from needlepoint.visits import actions as visit_actions
from needlepoint.visits.models import Visit
from tests.conftest import client_for
from tests.outcomes.conftest import days_ago, odi, open_episode
from tests.visits.visit_helpers import signed_visit


def url(episode, tail: str = "referral-letter/") -> str:
    return f"/patients/{episode.patient_id}/episodes/{episode.pk}/outcomes/{tail}"


def pdf_text(content: bytes) -> str:
    """The text of every page of a PDF, whitespace collapsed."""
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def referred(clinician, cleared_patient, clinic):
    """A low-back-pain episode with two signed visits (three muscles each), pain 7 → 3, ODI 60 % → 30 %."""
    clinic.address, clinic.phone, clinic.email = "1 Quay Road\nPortland, ME 04101", "(207) 555-0100", "a@b.example.org"
    clinic.save()
    episode = open_episode(clinician, cleared_patient, "low_back_pain", "M54.50", "central")
    for days, (before, after) in ((20, (7, 4)), (10, (3, 1))):
        visit = visit_actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(days=days)})
        Visit.objects.filter(pk=visit.pk).update(pain_before=before, pain_after=after)
        visit.refresh_from_db()
        signed_visit(clinician, visit)
    actions.record_questionnaire(clinician, episode, "ODI", odi(3), time_point="baseline", observed_at=days_ago(21))
    actions.record_questionnaire(clinician, episode, "ODI", odi(1), time_point="reassessment", observed_at=days_ago(9))
    return episode


def test_the_letter_says_what_a_referring_doctor_needs(clinician, referred) -> None:
    response = client_for(clinician).get(url(referred) + "?to=Dr%20Jane%20Smith%0ABay%20Medical%20Practice")
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Test Clinic", "1 Quay Road", "(207) 555-0100", "a@b.example.org"):
        assert text in html
    assert "Dr Jane Smith<br>Bay Medical Practice" in html and "Dear Dr Jane Smith," in html
    assert referred.patient.full_name in html and referred.patient.mrn in html
    assert "ICD-10-CM M54.50" in html and "low back pain" in html.lower()
    assert "2 signed visits from" in html
    assert (
        "Dry needling at 2 visits: Deltoid (right): 2 visits, 4 needles; Infraspinatus (right): 2 visits, 4 needles; "
        "Teres minor (right): 2 visits, 4 needles." in html
    )
    assert "No adverse events were recorded." in html
    assert "from 7 at the first visit to 3 at the latest (-4; at least the MCID of 2 points)." in html
    assert "Oswestry" in html and "Clinically important improvement (at least the MCID)." in html
    assert "Alice" in html and "Physical therapist, licence PT-1" in html
    words = re.sub(r"<[^>]+>", "", html.split("</nav>", 1)[1]).replace("...", "")
    for glitch in ("..", "1 visits", "1 points", ".:", " ."):
        assert glitch not in words, glitch


def test_the_pdf_says_what_the_page_says(clinician, referred) -> None:
    response = client_for(clinician).get(url(referred, "referral-letter.pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for part in ("Test Clinic", "(207) 555-0100", "Dear Doctor,", referred.patient.mrn, "M54.50", "licence PT-1"):
        assert part in text, part
    assert "2 signed visits from" in text and "Infraspinatus (right)" in text and "MCID" in text
    assert AuditEntry.objects.filter(action="export", summary="referral letter PDF").exists()


def test_one_visit_is_one_visit(clinician, cleared_patient) -> None:
    episode = open_episode(clinician, cleared_patient, "low_back_pain", "M54.50", "central")
    signed_visit(clinician, visit_actions.start_visit(clinician, episode, {"started_at": timezone.now()}))
    html = client_for(clinician).get(url(episode)).content.decode()
    assert "1 signed visit on" in html and "Dry needling at 1 visit:" in html and "1 visits" not in html


def test_front_desk_may_not_read_a_referral_letter(clinician, front_desk, clinic_admin, outsider, referred) -> None:
    for tail in ("referral-letter/", "referral-letter.pdf"):
        assert client_for(front_desk).get(url(referred, tail)).status_code == 403
        assert client_for(outsider).get(url(referred, tail)).status_code == 404
        assert client_for(clinic_admin).get(url(referred, tail)).status_code == 200
    assert AuditEntry.objects.filter(action="read", summary__contains="referral letter").exists()


def test_the_letter_reads_in_bounded_queries(clinician, referred) -> None:
    client = client_for(clinician)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(referred)).status_code == 200
    assert len(queries) <= 20, [q["sql"] for q in queries.captured_queries]
