"""A licensed questionnaire whose wording the clinic has not entered names the free alternative that can go
instead, wherever the clinic meets it: its data file (what was examined, the verdict on each and its source), the
plans page and its wording checklist, and the refusal of a link; and the offered alternative then goes."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from needlepoint.outcomes import actions, offers
from needlepoint.outcomes.diary import keeps_diary
from needlepoint.outcomes.models import SelfReportLink
from needlepoint.outcomes.plans import default_plans
from needlepoint.outcomes.scoring import HEADACHE_DIARY, INSTRUMENTS_DIR, VERDICTS, instrument, instruments
from needlepoint.outcomes.wording import has_wording, wording_shipped
from needlepoint.patients.models import Patient
from needlepoint.references import keys_in_list, references
from tests.conftest import client_for
from tests.outcomes.conftest import open_episode

LICENSED = ["HIT6", "MIDAS", "NDI", "ODI", "PRTEE", "QUICKDASH", "RMDQ"]
HOST = "https://np.test"


def test_every_licensed_instrument_and_only_those_names_its_alternatives() -> None:
    assert sorted(c for c in instruments() if not wording_shipped(c)) == LICENSED
    for code, defn in instruments().items():
        raw = json.loads((INSTRUMENTS_DIR / f"{code.lower()}.json").read_text(encoding="utf-8"))
        assert ("alternatives" in raw) == (code in LICENSED), code
        assert (defn.alternatives is not None) == (code in LICENSED), code


@pytest.mark.parametrize("code", LICENSED)
def test_each_alternative_is_measured_judged_and_sourced(code) -> None:
    block = instrument(code).alternatives
    assert block is not None and block.summary.strip() and block.offered
    for alt in block.examined:
        assert alt.verdict in VERDICTS and alt.measures.strip() and alt.terms.strip() and alt.short.strip()
        for text in (alt.source, alt.validation_source):
            assert all(key in references() for key in keys_in_list(text)), (code, alt.short, text)
        # Sourced: a references key, the address read, or marked unverified.
        assert keys_in_list(alt.source) or "http" in alt.source or "unverified" in alt.source, (code, alt.short)
    # No region-specific equivalent could be verified as free to ship (the licence notes); the files say so.
    assert block.equivalent_found is False


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
    assert [(a.offers, a.validation_source) for a in neck] == [("PSFS", "S455")]
    assert [(a.offers, a.validation_source) for a in back] == [("PSFS", "S456")]
    assert "neck dysfunction" in references()["S455"].title and references()["S456"].doi == "10.1007/s00586-010-1521-8"
    assert [a.offers for a in instrument("HIT6").alternatives.offered] == [HEADACHE_DIARY, "PSFS"]


def test_the_psfs_and_lefs_files_claim_no_licence_that_was_not_found() -> None:
    for code in ("PSFS", "LEFS"):
        english = instrument(code).licence["languages"]["en"]
        assert english["may_ship"] == "unverified" and english["wording"] == "shipped"
        assert english["terms"]["verified"] and english["terms"]["not_verified"]
    assert "not a general grant" in instrument("PSFS").licence["languages"]["en"]["terms"]["not_verified"]


def test_the_plans_page_names_the_free_alternative_of_each_instrument_still_lacking_wording(clinic_admin) -> None:
    client = client_for(clinic_admin)
    page = client.get("/outcomes/instruments/").content.decode()
    ndi_row = page.split('data-instrument="NDI"')[1].split("</tr>")[0]
    assert "Until then, free to use instead: PSFS (patient-specific function)." in ndi_row
    assert "No free, validated equivalent of NDI was found." in ndi_row
    assert "PROMIS: needs permission or a licence" in ndi_row
    assert "Copenhagen scale: terms not found or unclear" in ndi_row
    hit6_row = page.split('data-instrument="HIT6"')[1].split("</tr>")[0]
    assert "headache diary (headache days per 28 days); PSFS (patient-specific function)" in hit6_row
    psfs_row = page.split('data-instrument="PSFS"')[1].split("</tr>")[0]
    assert 'data-testid="alternatives"' not in psfs_row
    # The plan editor: the neck-pain row says NDI cannot go yet and what goes instead.
    neck_row = page.split("Neck pain")[1].split("</tr>")[0]
    assert "NDI: no licensed wording entered yet, so it cannot go to a patient." in neck_row
    assert "PSFS (patient-specific function) can be sent instead of NDI: it is free to use and in this condition" in (
        neck_row
    )
    migraine_row = page.split("Migraine")[1].split("</tr>")[0]
    assert "The headache diary (headache days per 28 days) can be started instead of HIT6" in migraine_row


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
    assert "PSFS (patient-specific function) can be sent instead of NDI: it is free to use and in this" in refused
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
    assert "Needlepoint ships no free alternative to NDI that this patient can read." in neck_page
    migraine_page = client.post(url, form | {"episode": migraine.pk}).content.decode()
    assert "The headache diary (headache days per 28 days) can be started instead of HIT6" in migraine_page
    assert SelfReportLink.objects.count() == 0


def test_the_sentences_are_translated_whole_with_their_named_values() -> None:
    with translation.override("es"):
        said = offers.instead_sentences(["HIT6"], "migraine", ["HIT6", "PSFS"], "en")
    assert said == [
        "El diario de dolor de cabeza (headache days per 28 days) puede iniciarse en lugar de HIT6 desde la página "
        "de resultados del episodio.",
        "PSFS (patient-specific function) puede enviarse en lugar de HIT6: es de uso libre y está en el plan de esta "
        "afección.",
    ]
