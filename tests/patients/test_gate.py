"""The needling gate: needling only with a current, cleared screening and a consent to the current text."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from needlepoint.patients import actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.gate import NeedlingRefused, needling_clearance, require_needling_clearance
from needlepoint.patients.models import ConsentText, Screening
from tests.accounts.test_access_matrix import api_client
from tests.conftest import all_no, client_for


def consent(clinician, patient):
    return actions.record_consent(clinician, patient, patient.full_name, current_consent_text(patient.clinic).version)


def publish_consent_text_version_2(clinic) -> ConsentText:
    current_consent_text(clinic)
    ConsentText.objects.filter(clinic=clinic).update(is_current=False)
    return ConsentText.objects.create(
        clinic=clinic, version=2, title="Consent to dry needling", body="Revised wording naming nerve injury."
    )


def test_a_new_patient_is_refused_for_want_of_screening_and_consent(patient) -> None:
    clearance = needling_clearance(patient)

    assert not clearance.allowed
    assert clearance.codes == ["no_screening", "no_consent"]
    assert clearance.reasons == ["No safety screening is on record.", "No informed consent is on record."]


def test_a_screened_patient_without_consent_is_refused(clinician, patient) -> None:
    actions.record_screening(clinician, patient, all_no())

    assert needling_clearance(patient).reasons == ["No informed consent is on record."]


def test_a_consented_patient_without_screening_is_refused(clinician, patient) -> None:
    consent(clinician, patient)

    assert needling_clearance(patient).reasons == ["No safety screening is on record."]


def test_a_cleared_and_consented_patient_may_be_needled(cleared_patient) -> None:
    clearance = needling_clearance(cleared_patient)

    assert clearance.allowed
    assert clearance.reasons == []
    assert clearance.screening.status == Screening.Status.CLEARED
    assert clearance.consent.signed_name == "Jane Doe"
    assert require_needling_clearance(cleared_patient) == clearance


def test_an_absolute_contraindication_refuses_needling(clinician, patient) -> None:
    actions.record_screening(clinician, patient, all_no() | {"needle_phobia": "yes"})
    consent(clinician, patient)

    assert needling_clearance(patient).reasons == [
        "The last screening did not clear the patient for dry needling (absolute contraindication)."
    ]


def test_precautions_must_be_acknowledged_before_needling(clinician, patient) -> None:
    screening = actions.record_screening(clinician, patient, all_no() | {"anticoagulants": "yes"} | ANTICOAGULANT)
    consent(clinician, patient)

    refused = needling_clearance(patient)
    actions.acknowledge_precautions(clinician, screening, "Superficial needling only, pressure after removal.")
    allowed = needling_clearance(patient)

    assert refused.reasons == ["The screening's precautions have not been acknowledged by a clinician."]
    assert allowed.allowed


ANTICOAGULANT = {"anticoagulant_medication": "apixaban"}


def test_a_site_limited_absolute_contraindication_clears_with_precautions(clinician, patient) -> None:
    screening = actions.record_screening(
        clinician, patient, all_no() | {"lymphoedema": "yes", "lymphoedema_side": "left"}
    )
    consent(clinician, patient)

    assert screening.status == Screening.Status.CLEARED_WITH_PRECAUTIONS
    assert not needling_clearance(patient).allowed
    actions.acknowledge_precautions(clinician, screening, "Needle the right side only.")
    assert needling_clearance(patient).allowed


def test_the_latest_screening_decides_even_if_an_earlier_one_cleared(clinician, cleared_patient) -> None:
    actions.record_screening(clinician, cleared_patient, all_no() | {"medical_emergency": "yes"})

    assert not needling_clearance(cleared_patient).allowed


def test_a_screening_is_current_for_ninety_days_by_default(clinician, cleared_patient) -> None:
    screened_at = Screening.objects.get(patient=cleared_patient).screened_at
    expires = screened_at + timedelta(days=90)

    just_before = needling_clearance(cleared_patient, at=expires - timedelta(seconds=1))
    at_expiry = needling_clearance(cleared_patient, at=expires)

    assert just_before.allowed
    assert at_expiry.reasons == [f"The last screening expired on {expires:%Y-%m-%d}; screen again."]


def test_the_screening_period_follows_the_setting(settings, clinician, cleared_patient) -> None:
    settings.SCREENING_VALID_DAYS = 30
    screened_at = Screening.objects.get(patient=cleared_patient).screened_at

    assert needling_clearance(cleared_patient, at=screened_at + timedelta(days=29)).allowed
    assert not needling_clearance(cleared_patient, at=screened_at + timedelta(days=30)).allowed


def test_a_new_screening_after_expiry_clears_again(clinician, cleared_patient) -> None:
    old = Screening.objects.get(patient=cleared_patient)
    Screening.objects.filter(pk=old.pk).update(screened_at=timezone.now() - timedelta(days=120))
    assert not needling_clearance(cleared_patient).allowed

    actions.record_screening(clinician, cleared_patient, all_no())

    assert needling_clearance(cleared_patient).allowed


def test_a_reported_change_in_health_ends_the_screening_until_the_patient_is_screened_again(
    clinician, cleared_patient
) -> None:
    actions.report_health_change(clinician, cleared_patient, "Started warfarin last week")

    refused = needling_clearance(cleared_patient)
    actions.record_screening(clinician, cleared_patient, all_no() | {"anticoagulants": "yes"} | ANTICOAGULANT)
    still_refused = needling_clearance(cleared_patient)

    assert refused.reasons == [
        "The last screening is no longer current: Change in health reported: Started warfarin last week."
    ]
    assert still_refused.reasons == ["The screening's precautions have not been acknowledged by a clinician."]


def test_a_health_change_does_not_touch_another_patients_screening(clinician, cleared_patient) -> None:
    other = actions.register_patient(
        clinician, {"given_name": "Ken", "family_name": "Ito", "date_of_birth": date(1970, 1, 1)}
    )
    actions.record_screening(clinician, other, all_no())
    consent(clinician, other)

    actions.report_health_change(clinician, cleared_patient, "New pregnancy")

    assert needling_clearance(other).allowed


def test_a_withdrawn_consent_refuses_needling_from_the_withdrawal_on(clinician, cleared_patient) -> None:
    given = consent_of(cleared_patient)
    withdrawn = actions.withdraw_consent(clinician, given, "Prefers exercise therapy")

    now = needling_clearance(cleared_patient)
    earlier = needling_clearance(cleared_patient, at=given.signed_at)

    assert now.reasons == [f"The patient withdrew consent on {withdrawn.withdrawn_at:%Y-%m-%d}."]
    assert earlier.allowed
    assert withdrawn.withdrawal_reason == "Prefers exercise therapy"
    assert withdrawn.withdrawal_recorded_by == clinician


def test_consenting_again_after_a_withdrawal_clears(clinician, cleared_patient) -> None:
    actions.withdraw_consent(clinician, consent_of(cleared_patient), "")

    consent(clinician, cleared_patient)

    assert needling_clearance(cleared_patient).allowed


def test_a_new_consent_text_version_needs_a_new_consent(clinician, cleared_patient) -> None:
    publish_consent_text_version_2(cleared_patient.clinic)

    refused = needling_clearance(cleared_patient)
    renewed = consent(clinician, cleared_patient)

    assert refused.reasons == ["Consent was given to version 1 of the consent text; version 2 needs a new consent."]
    assert renewed.text.version == 2
    assert needling_clearance(cleared_patient).allowed


def test_the_gate_raises_with_every_reason_when_it_refuses(patient) -> None:
    with pytest.raises(NeedlingRefused) as refused:
        require_needling_clearance(patient)

    assert refused.value.reasons == ["No safety screening is on record.", "No informed consent is on record."]
    assert refused.value.messages == refused.value.reasons


def test_records_made_after_the_moment_asked_about_do_not_count(clinician, patient) -> None:
    before_anything = timezone.now() - timedelta(minutes=1)
    actions.record_screening(clinician, patient, all_no())
    consent(clinician, patient)

    assert not needling_clearance(patient, at=before_anything).allowed
    assert needling_clearance(patient).allowed


def test_the_patient_page_shows_the_gate_and_its_reasons(clinician, front_desk, patient) -> None:
    refused = client_for(front_desk).get(f"/patients/{patient.pk}/").content.decode()
    actions.record_screening(clinician, patient, all_no())
    consent(clinician, patient)
    allowed = client_for(clinician).get(f"/patients/{patient.pk}/").content.decode()

    assert "Not cleared for needling" in refused
    assert "No safety screening is on record." in refused
    assert "Cleared for needling" in allowed
    assert "Not cleared for needling" not in allowed


def test_the_api_reports_the_gate(clinician, front_desk, patient) -> None:
    url = f"/api/v1/patients/{patient.pk}/needling-clearance"
    refused = api_client(front_desk).get(url).json()
    actions.record_screening(clinician, patient, all_no())
    consent(clinician, patient)
    allowed = api_client(clinician).get(url).json()

    assert refused == {
        "allowed": False,
        "codes": ["no_screening", "no_consent"],
        "reasons": ["No safety screening is on record.", "No informed consent is on record."],
    }
    assert allowed == {"allowed": True, "codes": [], "reasons": []}


def test_reporting_a_health_change_through_the_api_returns_the_closed_gate(clinician, cleared_patient) -> None:
    import json

    response = api_client(clinician).post(
        f"/api/v1/patients/{cleared_patient.pk}/health-change",
        json.dumps({"description": "Knee replacement surgery"}),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["allowed"] is False
    assert "Change in health reported: Knee replacement surgery" in response.json()["reasons"][0]


def consent_of(patient):
    from needlepoint.patients.models import Consent

    return Consent.objects.get(patient=patient)


def test_a_health_change_ends_currency_from_its_report_not_before(clinician, cleared_patient) -> None:
    before_report = timezone.now()
    actions.report_health_change(clinician, cleared_patient, "Started a blood thinner")
    assert needling_clearance(cleared_patient, at=before_report).allowed
    assert not needling_clearance(cleared_patient).allowed


def test_every_reason_code_has_its_words_and_every_word_a_code() -> None:
    """The gate decides by code; the words in the data file are shown. A code without words, or words for a code
    the gate no longer gives, fails here."""
    from needlepoint.patients.gate import CONSENT_CODES, gate_wording

    screening_and_age = {
        "no_screening",
        "screening_invalidated",
        "screening_expired",
        "screening_not_cleared",
        "precautions_not_acknowledged",
        "below_minimum_age",
    }
    assert set(gate_wording()) == screening_and_age | CONSENT_CODES
    assert not screening_and_age & CONSENT_CODES


def test_consent_holds_by_code_whatever_else_refuses(clinician, cleared_patient) -> None:
    """An expired screening refuses needling while the consent still holds; a withdrawn consent does not."""
    expires = Screening.objects.get(patient=cleared_patient).expires_at
    later = needling_clearance(cleared_patient, at=expires + timedelta(days=1))
    assert (later.codes, later.consent_current) == (["screening_expired"], True)
    actions.withdraw_consent(clinician, consent_of(cleared_patient), "Wants to think it over")
    withdrawn = needling_clearance(cleared_patient)
    assert (withdrawn.codes, withdrawn.consent_current) == (["consent_withdrawn"], False)
    with pytest.raises(NeedlingRefused) as refused:
        require_needling_clearance(cleared_patient)
    assert refused.value.codes == ["consent_withdrawn"]


def test_the_clearance_says_whether_consent_holds_without_reading_its_reasons(clinician, patient) -> None:
    """The visit's safety flags take consent from the gate's own answer, not from the wording of a reason."""
    from needlepoint.patients.gate import needling_clearance
    from tests.conftest import clear_for_needling

    assert needling_clearance(patient).consent_current is False
    clear_for_needling(clinician, patient)
    assert needling_clearance(patient).consent_current is True
