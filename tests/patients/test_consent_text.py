"""Consent text edition 2: the risks it names, and moving clinics on edition 1 to a new version (re-consent)."""

from __future__ import annotations

import importlib

from django.apps import apps

from needlepoint.patients import actions
from needlepoint.patients.consent import current_consent_text, default_consent_editions, default_consent_text
from needlepoint.patients.gate import needling_clearance
from needlepoint.patients.models import ConsentText
from tests.conftest import all_no

MIGRATION = importlib.import_module("needlepoint.patients.migrations.0008_consent_text_v2")


def on_edition(clinic, number: int) -> ConsentText:
    """Give ``clinic`` the default edition ``number`` as its current version 1, as an older install had."""
    edition = next(e for e in default_consent_editions() if e["edition"] == number)
    return ConsentText.objects.create(
        clinic=clinic,
        version=1,
        title=edition["title"],
        body=edition["body"],
        material_risks=edition["material_risks"],
    )


def test_the_newest_edition_names_delayed_pneumothorax_and_the_new_material_risks() -> None:
    text = default_consent_text()
    risks = {risk["code"]: risk["text"] for risk in text["material_risks"]}

    assert text["edition"] == 2
    assert {"nerve_spinal_injury", "broken_retained_needle", "organ_puncture"} <= set(risks)
    assert "up to two days later" in risks["pneumothorax"]
    assert "base of the neck" in risks["pneumothorax"] and "upper back" in risks["pneumothorax"]
    assert "urgent medical care" in risks["pneumothorax"] and "breathlessness" in risks["pneumothorax"]
    assert all(risk["source"] for risk in text["material_risks"])


def test_edition_1_is_kept_unchanged_for_the_consents_given_to_it() -> None:
    first = default_consent_editions()[0]

    assert first["edition"] == 1
    assert "hours later" in first["material_risks"][0]["text"]
    assert "organ_puncture" not in {risk["code"] for risk in first["material_risks"]}


def test_a_new_clinic_starts_on_the_newest_edition_as_version_1(clinic) -> None:
    text = current_consent_text(clinic)

    assert text.version == 1
    assert text.material_risks == default_consent_text()["material_risks"]


def test_a_clinic_on_edition_1_gets_version_2_and_its_patients_must_consent_again(clinician, patient) -> None:
    old = on_edition(clinician.clinic, 1)
    actions.record_screening(clinician, patient, all_no())
    actions.record_consent(clinician, patient, patient.full_name, 1)
    assert needling_clearance(patient).allowed

    MIGRATION.publish_edition_2(apps, None)

    current = current_consent_text(clinician.clinic)
    refused = needling_clearance(patient)
    assert (current.version, current.material_risks) == (2, default_consent_text()["material_risks"])
    assert old.consents.count() == 1 and not ConsentText.objects.get(pk=old.pk).is_current
    assert refused.reasons == ["Consent was given to version 1 of the consent text; version 2 needs a new consent."]

    actions.record_consent(clinician, patient, patient.full_name, 2)
    assert needling_clearance(patient).allowed


def test_a_clinic_with_its_own_wording_keeps_it(clinic) -> None:
    own = ConsentText.objects.create(clinic=clinic, version=3, title="Our consent", body="Our own words.")

    MIGRATION.publish_edition_2(apps, None)

    assert list(ConsentText.objects.filter(clinic=clinic)) == [own]
    assert current_consent_text(clinic) == own


def test_undoing_the_step_restores_edition_1_while_nobody_has_signed_edition_2(clinic) -> None:
    old = on_edition(clinic, 1)
    MIGRATION.publish_edition_2(apps, None)

    MIGRATION.withdraw_edition_2(apps, None)

    assert list(ConsentText.objects.filter(clinic=clinic)) == [old]
    assert current_consent_text(clinic).version == 1


def test_the_demo_clinic_consents_to_the_current_text_with_the_newest_edition(db) -> None:
    from needlepoint.accounts.models import Clinic
    from needlepoint.demo import build_demo
    from needlepoint.patients.models import Consent

    build_demo(patients=20, seed=3)

    demo = Clinic.objects.get(slug="demo")
    current = current_consent_text(demo)
    consents = Consent.objects.filter(clinic=demo)
    assert current.material_risks == default_consent_text()["material_risks"]
    assert consents.exists() and not consents.exclude(text=current).exists()
