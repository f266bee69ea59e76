"""The patient's own pain drawing on the self-report page: the body-chart editor on the phone form, stored as
patient-reported with the address and device it came from, tied to the link, refused when it names an unknown
region or an impossible pain (nothing stored, the link still usable), and shown beside the clinician's drawing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from needlepoint.atlas import actions as atlas_actions
from needlepoint.atlas.models import PatientPainDrawing
from needlepoint.fhir.export import record_documents
from needlepoint.outcomes import actions
from needlepoint.outcomes.models import Observation, SelfReportLink
from tests.conftest import client_for
from tests.outcomes.conftest import odi

# A clinic enters its licensed wording before a questionnaire can go to a patient (the product refuses otherwise).
pytestmark = pytest.mark.usefixtures("clinic_wording")

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


@pytest.fixture
def issued(clinician, lbp_episode):
    return actions.create_self_report_link(clinician, lbp_episode, time_point="reassessment")


def answers(drawing: object) -> dict[str, str]:
    data = {f"ODI-{k}": str(v) for k, v in odi(2).items()}
    data |= {"PSFS-activity_1": "4", "PSFS-activity_2": "5", "PSFS-activity_3": "6", "NPRS-pain": "5"}
    return data | {"drawing": drawing if isinstance(drawing, str) else json.dumps(drawing)}


def test_the_phone_page_carries_the_body_chart_editor_without_inline_script(issued) -> None:
    page = Client().get(f"/p/{issued.token}/").content.decode()

    assert 'data-testid="patient-drawing"' in page and "data-bodychart-editor" in page
    assert 'name="drawing"' in page and "/static/js/bodychart.js" in page
    assert "<script>" not in page and " onclick=" not in page and "style=" not in page


def test_the_drawing_is_stored_as_the_patients_with_address_and_device(issued, lbp_episode) -> None:
    done = Client().post(
        f"/p/{issued.token}/",
        answers({"low-back-l": 7, "mid-back-l": None}),
        HTTP_USER_AGENT=PHONE,
        REMOTE_ADDR="203.0.113.9",
    )

    assert done.status_code == 200 and b"Thank you" in done.content
    drawing = PatientPainDrawing.objects.get()
    assert drawing.drawing == {"low-back-l": 7, "mid-back-l": None}
    assert drawing.episode_id == lbp_episode.pk and drawing.patient_id == lbp_episode.patient_id
    assert drawing.submitted_from == "203.0.113.9" and drawing.submitted_user_agent == PHONE
    link = SelfReportLink.objects.get()
    assert link.pain_drawing_id == drawing.pk and link.submitted_from == "203.0.113.9"


def test_no_drawing_is_fine_and_stores_no_drawing(issued) -> None:
    done = Client().post(f"/p/{issued.token}/", answers({}))

    assert b"Thank you" in done.content
    assert not PatientPainDrawing.objects.exists() and SelfReportLink.objects.get().pain_drawing is None


@pytest.mark.parametrize(
    ("drawing", "message"),
    [
        ({"elbow-of-nowhere": 5}, "elbow-of-nowhere"),
        ({"low-back-l": 11}, "0"),
        ("[not json", "could not be read"),
    ],
)
def test_a_bad_drawing_is_refused_and_nothing_is_stored(issued, drawing, message) -> None:
    page = Client().post(f"/p/{issued.token}/", answers(drawing))

    assert page.status_code == 400 and message in page.content.decode()
    assert not PatientPainDrawing.objects.exists() and not Observation.objects.exists()
    assert SelfReportLink.objects.get().used_at is None


def test_a_refused_form_keeps_the_valid_part_of_the_drawing(issued) -> None:
    data = answers({"low-back-l": 7}) | {"NPRS-pain": ""}

    page = Client().post(f"/p/{issued.token}/", data).content.decode()

    assert 'value="{&quot;low-back-l&quot;:7}"' in page


def test_the_assessment_page_shows_the_patients_drawing_beside_the_clinicians(
    clinician, issued, lbp_episode, django_assert_max_num_queries
) -> None:
    assessment = atlas_actions.create_assessment(clinician, lbp_episode, {"drawing": {"low-back-r": 3}})
    client = client_for(clinician)
    before = client.get(f"/atlas/assessments/{assessment.pk}/").content.decode()
    assert "The patient has not drawn their pain yet" in before

    Client().post(f"/p/{issued.token}/", answers({"low-back-l": 7}))

    with django_assert_max_num_queries(40):
        page = client.get(f"/atlas/assessments/{assessment.pk}/").content.decode()
    patients = page.split('data-testid="patients-own-drawing"')[1].split("</section>")[0]
    assert "Patient-reported" in patients and 'data-code="low-back-l" data-name' in patients
    assert 'data-i="7"' in patients and "7</span> of 10" in patients
    # The clinician's own drawing is still there, in its own card.
    assert 'id="drawing-input"' in page and "low-back-r" in page.split('data-testid="patients-own-drawing"')[0]


def test_the_patients_record_export_carries_their_own_drawing(issued, lbp_episode) -> None:
    Client().post(f"/p/{issued.token}/", answers({"low-back-l": 7}))

    documents = [d for d in record_documents(lbp_episode.patient) if d.id.startswith("patient-drawing-")]

    assert len(documents) == 1 and documents[0].author == "the patient"
    assert "Drawn by the patient" in documents[0].text and ": 7" in documents[0].text
