"""A licensed questionnaire whose wording the clinic has not entered names the alternative that can go
instead, wherever the clinic meets it: its data file (what was examined, the verdict on each and its source), the
plans page and its wording checklist, and the refusal of a link; and the offered alternative then goes."""

from __future__ import annotations

import html

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from needlepoint.outcomes import actions, offers
from needlepoint.outcomes.diary import keeps_diary
from needlepoint.outcomes.models import SelfReportLink
from needlepoint.outcomes.plans import default_plans
from needlepoint.outcomes.scoring import HEADACHE_DIARY, instrument, instruments
from needlepoint.outcomes.wording import has_wording, wording_shipped
from needlepoint.patients.models import Patient
from needlepoint.references import keys_in_list, references
from tests.conftest import client_for
from tests.outcomes.conftest import open_episode

LICENSED = ["HIT6", "MIDAS", "NDI", "ODI", "PRTEE", "QUICKDASH", "RMDQ"]
HOST = "https://np.test"
ELBOW_ICD10 = "M77.11"


def test_every_licensed_instrument_and_only_those_names_its_alternatives() -> None:
    # The wording-shipped flag and the alternatives block agree (the loader enforces it; this pins the list).
    assert sorted(c for c, d in instruments().items() if d.alternatives is not None) == LICENSED


# Where a validation of the PSFS in the licensed instrument's condition was read (the data files): the neck [S455]
# and low back [S456]; for headache and the elbow or upper limb, none.
PSFS_VALIDATED = {"NDI": True, "ODI": True, "RMDQ": True, "HIT6": False, "MIDAS": False, "PRTEE": False}
PSFS_VALIDATED["QUICKDASH"] = False


@pytest.mark.parametrize("code", LICENSED)
def test_the_data_says_where_the_psfs_was_validated_and_that_nothing_is_an_equivalent(code) -> None:
    block = instrument(code).alternatives
    psfs = [alt for alt in block.offered if alt.offers == "PSFS"]
    assert [alt.validation_found for alt in psfs] == [PSFS_VALIDATED[code]]
    # No equivalent could be verified as free to ship (the licence notes); the files say so.
    assert block.equivalent_found is False
    # The headache diary was not validated as an outcome measure: its validation is unverified.
    assert all(not alt.validation_found for alt in block.offered if alt.offers == HEADACHE_DIARY)


@pytest.mark.parametrize("code", LICENSED)
def test_every_offered_alternative_ships_and_is_in_the_plan_where_the_licensed_one_is(code) -> None:
    holding = [condition for condition, plan in default_plans().items() if code in plan]
    for alt in instrument(code).alternatives.offered:
        if alt.offers == HEADACHE_DIARY:
            # Where the licensed instrument is in a default plan, that condition keeps a diary (MIDAS is in none).
            assert all(keeps_diary(condition) for condition in holding), code
            continue
        assert alt.offers in instruments() and wording_shipped(alt.offers) and has_wording(alt.offers, "en")
        assert all(alt.offers in default_plans()[condition] for condition in holding), (code, alt.offers)


def test_the_neck_and_back_indexes_offer_the_psfs_with_its_validation_in_that_region() -> None:
    neck = instrument("NDI").alternatives.offered
    back = instrument("ODI").alternatives.offered
    assert [(a.offers, keys_in_list(a.validation_source)) for a in neck] == [("PSFS", ["S455"])]
    assert [(a.offers, a.validation_source) for a in back] == [("PSFS", "S456")]
    assert references()["S455"].secondary and "unverified" in neck[0].validation_source
    assert "neck dysfunction" in references()["S455"].title and references()["S456"].doi == "10.1007/s00586-010-1521-8"
    assert [a.offers for a in instrument("HIT6").alternatives.offered] == [HEADACHE_DIARY, "PSFS"]


def test_the_psfs_and_lefs_files_claim_no_licence_that_was_not_found() -> None:
    for code in ("PSFS", "LEFS"):
        english = instrument(code).licence["languages"]["en"]
        assert english["may_ship"] == "unverified" and english["wording"] == "shipped"
        assert english["terms"]["verified"] and english["terms"]["not_verified"]
    assert "not a general grant" in instrument("PSFS").licence["languages"]["en"]["terms"]["not_verified"]


PSFS_SHIPPED = "Needlepoint ships the PSFS (patient-specific function), which can be sent instead of"
NOT_EQUIVALENT_NDI = (
    "It is not an equivalent of NDI: it rates the activities the patient names, so its scores are not comparable "
    "with those of NDI."
)
NO_SPANISH = "It has no wording in Spanish (español): it cannot go to a patient who reads that language."


def _row(page: str, marker: str) -> str:
    """The table row after ``marker``, its HTML entities read as text."""
    return html.unescape(page.split(marker)[1].split("</tr>")[0])


def test_the_plans_page_names_what_can_go_instead_of_each_instrument_still_lacking_wording(clinic_admin) -> None:
    client = client_for(clinic_admin)
    page = client.get("/outcomes/instruments/").content.decode()
    ndi_row = _row(page, 'data-instrument="NDI"')
    assert f"{PSFS_SHIPPED} NDI." in ndi_row
    assert NOT_EQUIVALENT_NDI in ndi_row and NO_SPANISH in ndi_row
    assert "No validation of it was found" not in ndi_row  # validated in neck dysfunction [S455]
    assert "free to use" not in page  # its own terms are unverified
    assert "No free, validated equivalent of NDI was found." in ndi_row
    assert "Also examined: PROMIS, PEG, which need permission or a licence." in ndi_row
    assert "Also examined: Copenhagen scale, Bournemouth questionnaire, whose terms were not found" in ndi_row
    hit6_row = _row(page, 'data-instrument="HIT6"')
    assert "The headache diary (headache days per 28 days) can be started instead of HIT6" in hit6_row
    assert f"{PSFS_SHIPPED} HIT6." in hit6_row
    assert "No validation of it was found in the patients HIT6 is meant for." in hit6_row
    # QuickDASH's examined list holds no 'not shippable' one: no empty "Also examined: ." sentence.
    quickdash_row = _row(page, 'data-instrument="QUICKDASH"')
    assert "Also examined: PROMIS, which needs permission or a licence." in quickdash_row
    assert ": ." not in page
    psfs_row = _row(page, 'data-instrument="PSFS"')
    assert 'data-testid="alternatives"' not in psfs_row
    # The plan editor: the neck-pain row says NDI cannot go yet, what goes instead, and that it is English only.
    neck_row = _row(page, "Neck pain")
    assert "NDI: no licensed wording entered yet, so it cannot go to a patient." in neck_row
    assert f"{PSFS_SHIPPED} NDI: it is in this condition's plan." in neck_row
    assert NOT_EQUIVALENT_NDI in neck_row and NO_SPANISH in neck_row
    migraine_row = _row(page, "Migraine")
    assert "The headache diary (headache days per 28 days) can be started instead of HIT6" in migraine_row


def test_a_plan_row_with_two_licensed_questionnaires_speaks_of_them_in_the_plural(clinic_admin) -> None:
    actions.set_instrument_plan(clinic_admin, "neck_pain", ["NDI", "ODI", "PSFS"])
    page = client_for(clinic_admin).get("/outcomes/instruments/").content.decode()
    neck_row = _row(page, "Neck pain")
    assert "NDI, ODI: no licensed wording entered yet, so they cannot go to a patient." in neck_row
    assert f"{PSFS_SHIPPED} NDI, ODI: it is in this condition's plan." in neck_row
    assert "so its scores are not comparable with theirs." in neck_row


def test_the_caveat_reaches_the_refusal_and_the_plans_page(clinician, clinic_admin, patient) -> None:
    """Where the PSFS's validation in the condition was not found (the elbow), the refusal of a link and the plan
    say so, and that it is not an equivalent of the PRTEE."""
    episode = open_episode(clinician, patient, "lateral_epicondylalgia", ELBOW_ICD10, "right")
    refused = client_for(clinician).post(
        f"/patients/{patient.pk}/self-report-link/",
        {"episode": episode.pk, "time_point": "baseline", "days": "7", "channel": "copy"},
    )
    said = html.unescape(refused.content.decode())
    caveats = [
        f"{PSFS_SHIPPED} PRTEE: it is in this condition's plan.",
        "It is not an equivalent of PRTEE: it rates the activities the patient names, so its scores are not "
        "comparable with those of PRTEE.",
        "No validation of it was found in the patients PRTEE is meant for.",
    ]
    for words in caveats:
        assert words in said, words
    assert SelfReportLink.objects.count() == 0
    page = client_for(clinic_admin).get("/outcomes/instruments/").content.decode()
    elbow_row = _row(page, "Lateral epicondylalgia (tennis elbow)")
    for words in caveats:
        assert words in elbow_row, words


def test_once_the_wording_is_entered_the_row_no_longer_offers_an_alternative(clinic_wording, clinic_admin) -> None:
    page = client_for(clinic_admin).get("/outcomes/instruments/").content.decode()
    assert 'data-testid="alternatives"' not in page and 'data-testid="plan-alternatives"' not in page


def test_a_plan_without_the_psfs_says_to_add_it(clinic_admin) -> None:
    actions.set_instrument_plan(clinic_admin, "neck_pain", ["NDI"])
    page = client_for(clinic_admin).get("/outcomes/instruments/").content.decode()
    neck_row = page.split("Neck pain")[1].split("</tr>")[0]
    assert "can be sent instead of NDI once a clinic admin adds it to this condition" in neck_row


def test_the_refusal_names_the_alternative_and_sending_it_instead_works(front_desk, clinician, patient, settings):
    settings.SHORT_LINK_BASE = HOST
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org")
    episode = open_episode(clinician, patient, "neck_pain", "M54.2", "central")
    client = client_for(front_desk)
    url = f"/patients/{patient.pk}/self-report-link/"
    form = {"episode": episode.pk, "time_point": "baseline", "days": "7", "channel": "email"}

    refused = client.post(url, form).content.decode()
    assert "NDI has no wording here yet" in refused
    assert f"{PSFS_SHIPPED} NDI: it is in this condition&#x27;s plan." in refused
    assert NOT_EQUIVALENT_NDI in html.unescape(refused) and "free to use" not in refused
    assert SelfReportLink.objects.count() == 0 and not mail.outbox

    sent = client.post(url, form | {"readable_only": "on"}).content.decode()
    link = SelfReportLink.objects.get()
    assert link.instruments == ["PSFS"] and link.include_pain and 'data-testid="link-sent"' in sent
    assert len(mail.outbox) == 1
    # The patient answers the PSFS on the phone page.
    token = actions.create_self_report_link(clinician, episode, readable_only=True).token
    page = Client().get(f"/p/{token}/")
    assert page.status_code == 200 and "Patient-Specific Functional Scale" in page.content.decode()


def test_a_migraine_refusal_offers_the_headache_diary_which_then_starts(clinician, patient) -> None:
    episode = open_episode(clinician, patient, "migraine", "G43.009", "bilateral")
    client = client_for(clinician)
    refused = client.post(
        f"/patients/{patient.pk}/self-report-link/",
        {"episode": episode.pk, "time_point": "baseline", "days": "7", "channel": "copy"},
    ).content.decode()
    assert "The headache diary (headache days per 28 days) can be started instead of HIT6" in refused
    started = client.post(f"/patients/{patient.pk}/episodes/{episode.pk}/outcomes/diary-link/")
    assert started.status_code == 200
    assert SelfReportLink.objects.filter(episode=episode, kind=SelfReportLink.Kind.DIARY).count() == 1


def test_the_other_language_refusal_says_what_the_patient_can_read_instead(clinician, patient) -> None:
    Patient.objects.filter(pk=patient.pk).update(preferred_language="es")
    patient.refresh_from_db()
    neck = open_episode(clinician, patient, "neck_pain", "M54.2", "central")
    migraine = open_episode(clinician, patient, "migraine", "G43.009", "bilateral")
    client = client_for(clinician)
    url = f"/patients/{patient.pk}/self-report-link/"
    form = {"time_point": "baseline", "days": "7", "channel": "copy"}

    neck_page = client.post(url, form | {"episode": neck.pk}).content.decode()
    assert "no validated wording in that language" in neck_page
    # The PSFS has no Spanish wording either: the page says plainly that nothing free can go instead.
    assert "Needlepoint ships no alternative to NDI that this patient can read." in neck_page
    migraine_page = client.post(url, form | {"episode": migraine.pk}).content.decode()
    assert "The headache diary (headache days per 28 days) can be started instead of HIT6" in migraine_page
    assert SelfReportLink.objects.count() == 0


def test_the_sentences_are_translated_whole_with_their_named_values() -> None:
    with translation.override("es"):
        said = offers.instead_sentences(["HIT6"], "migraine", ["HIT6", "PSFS"], "en", name_languages=True)
    # Whole Spanish sentences: no English text from the data files inside them.
    assert said == SPANISH_HIT6
    for sentence in said:
        assert "headache" not in sentence and "patient-specific" not in sentence, sentence


SPANISH_HIT6 = [
    "El diario de dolor de cabeza (días con dolor de cabeza por 28 días) puede iniciarse en lugar de HIT6 desde la "
    "página de resultados del episodio.",
    "No equivale a HIT6: cuenta los días con dolor de cabeza, no su impacto ni la discapacidad que causan.",
    "No se encontró ninguna validación en los pacientes a los que se destina HIT6.",
    "Needlepoint incluye la PSFS (función específica del paciente), que puede enviarse en lugar de HIT6: está en el "
    "plan de esta afección.",
    "No equivale a HIT6: puntúa las actividades que nombra el paciente, así que sus puntuaciones no son comparables "
    "con las de HIT6.",
    "No se encontró ninguna validación en los pacientes a los que se destina HIT6.",
    "No tiene texto en Spanish (español): no puede enviarse a un paciente que lea ese idioma.",
]
