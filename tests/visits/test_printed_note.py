"""The printable visit note: letterhead, patient, episode with ICD-10-CM, clinician with licence, the signed
note and its signature, as a page and as a PDF from the same template; clinical roles only; audited reads;
bounded queries; and generated note text without doubled punctuation."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from needlepoint.accounts.models import AuditEntry
from needlepoint.visits import actions
from needlepoint.visits.note import NoteAcknowledgement, NoteEntry, NoteInput, soap_note
from tests.conftest import client_for
from tests.visits.visit_helpers import add, fresh, signed_visit

GLITCHES = ("..", ".:", " .", ".;", "(unverified).(unverified)", "1 points", "1 needles", "needle(s)")


def pdf_text(content: bytes) -> str:
    """The text of every page of a PDF, whitespace collapsed."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


@pytest.fixture
def letterheaded(clinic):
    clinic.address = "1 Quay Road\nPortland, ME 04101"
    clinic.phone = "(207) 555-0100"
    clinic.email = "desk@quay.example.org"
    clinic.save()
    return clinic


def test_the_signed_note_prints_with_letterhead_clinician_and_signature(clinician, visit, letterheaded) -> None:
    signed = signed_visit(clinician, visit)
    html = client_for(clinician).get(f"/visits/{signed.pk}/note/").content.decode()
    for text in ("Test Clinic", "1 Quay Road", "Portland, ME 04101", "(207) 555-0100", "desk@quay.example.org"):
        assert text in html
    assert signed.patient.full_name in html and signed.patient.mrn in html
    assert "Neck pain" in html and "ICD-10-CM M54.2" in html
    assert "Alice, Physical therapist, licence PT-1" in html
    assert "Electronically signed by <strong>Alice, Physical therapist, licence PT-1</strong>" in html
    assert "Infraspinatus (right)" in html and "draft, not signed" not in html


def test_the_pdf_says_what_the_page_says(clinician, visit, letterheaded) -> None:
    signed = signed_visit(clinician, visit)
    response = client_for(clinician).get(f"/visits/{signed.pk}/note.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    text = pdf_text(response.content)
    for part in ("Test Clinic", "(207) 555-0100", "Treatment note", signed.patient.mrn, "licence PT-1"):
        assert part in text
    assert "Electronically signed by" in text and "Infraspinatus (right)" in text
    assert AuditEntry.objects.filter(action="export", object_id=str(signed.pk), summary="visit note PDF").exists()


def test_an_unsigned_visit_prints_as_a_marked_draft(clinician, visit) -> None:
    visit = add(clinician, visit)
    html = client_for(clinician).get(f"/visits/{visit.pk}/note/").content.decode()
    assert "Treatment note (draft, not signed)" in html and "not the clinical record" in html
    assert "Electronically signed" not in html
    assert "no address or phone yet" in html  # the admin is told where the letterhead is filled


def test_addenda_print_with_their_author(clinician, visit) -> None:
    signed = signed_visit(clinician, visit)
    actions.add_addendum(clinician, signed.pk, "Patient phoned: soreness settled by the next day.")
    html = client_for(clinician).get(f"/visits/{signed.pk}/note/").content.decode()
    assert "Addenda" in html and "soreness settled by the next day" in html


def test_front_desk_may_not_print_a_note_and_other_clinics_do_not_see_it(
    clinician, front_desk, clinic_admin, outsider, visit
) -> None:
    signed = signed_visit(clinician, visit)
    for url in (f"/visits/{signed.pk}/note/", f"/visits/{signed.pk}/note.pdf"):
        assert client_for(front_desk).get(url).status_code == 403
        assert client_for(outsider).get(url).status_code == 404
        assert client_for(clinic_admin).get(url).status_code == 200


def test_reading_the_note_is_audited(clinician, visit) -> None:
    signed = signed_visit(clinician, visit)
    client_for(clinician).get(f"/visits/{signed.pk}/note/")
    assert AuditEntry.objects.filter(action="read", object_id=str(signed.pk), summary__contains="printable").exists()


def test_the_printed_note_reads_in_bounded_queries(clinician, visit) -> None:
    signed = signed_visit(clinician, visit)
    client = client_for(clinician)
    for _ in range(3):
        actions.add_addendum(clinician, signed.pk, "More.")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/visits/{signed.pk}/note/").status_code == 200
    assert len(queries) <= 12, [q["sql"] for q in queries.captured_queries]


def test_the_page_links_to_the_printable_note(clinician, visit) -> None:
    signed = signed_visit(clinician, visit)
    html = client_for(clinician).get(f"/visits/{signed.pk}/").content.decode()
    assert f'href="/visits/{signed.pk}/note/"' in html and "3 muscles counted" in html


def _glitches(text: str) -> list[str]:
    # "..." may be the clinician's own; the generated parts must not double a stop or leave one before ':'.
    return [g for g in GLITCHES if g in text.replace("...", "")]


def test_generated_note_text_has_no_doubled_punctuation() -> None:
    """Atlas labels and data texts that end in a full stop, joined by the note's own punctuation."""
    data = NoteInput(
        date="2026-11-01 10:00",
        clinician="Maya Okafor (Physical therapist, licence PT-4)",
        condition="Neck pain (M54.2)",
        pain_before=5,
        pain_after=4,
        subjective="",
        interventions=["Education"],
        entries=[
            NoteEntry("Masseter", "right", "deep: Deep layer.", 1, "0.25 mm x 30 mm", "Static", "None", 10, "Eased"),
            NoteEntry("Gluteus minimus", "left", "", 2, "0.30 mm x 50 mm", "Rotation", "Single", None, "Tolerated."),
        ],
        counts="All needles accounted for (3 opened, 3 inserted, 3 removed, 3 in sharps).",
        assessment="",
        plan="",
        cpt="20560",
        acknowledgements=[
            NoteAcknowledgement(
                "Sciatic nerve region (depth unverified).",
                "",
                "Maya Okafor",
                precautions=("Needle directed away from the structure named.",),
                note="Patient told to report paraesthesia.",
            ),
            NoteAcknowledgement("Deep (unverified).", "Short needle used.", "Maya Okafor"),
        ],
        reminders=["The margin is this product's choice (unverified)."],
        incidents=["1 needle; search made: Couch searched; action taken: Patient told to check clothing."],
        adverse_events=["Vasovagal (mild), 2026-11-01 10:20: Lay flat. Advised no driving."],
        positions=["Lying face down (prone)"],
        clean_technique="hand hygiene before needling.",
    )
    text = soap_note(data)
    assert _glitches(text) == [], text
    assert "Masseter (right), deep (Deep layer): 1 needle 0.25 mm x 30 mm" in text
    assert "Response: Eased." in text and "Change: -1 point." in text
    assert "Precautions: Needle directed away from the structure named. Note:" in text


def test_a_signed_note_made_through_the_actions_has_no_glitches(clinician, visit) -> None:
    add(clinician, visit, muscle="deltoid", trigger_point="middle", patient_response="Tolerated well.")
    signed = signed_visit(clinician, fresh(visit))
    assert _glitches(signed.note_text) == [], signed.note_text
    assert "Deltoid (right), middle (Middle part): 2 needles" in signed.note_text, signed.note_text
