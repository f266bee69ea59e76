"""The dashboard's "screening or consent lapsing" list: who is on it, what it says, and that it reads a fixed
number of queries however many patients it names, showing them included (the fields it loads are all that the
rows use: a field left out would be read once per row)."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Consent, ConsentText, Episode
from needlepoint.visits import actions
from needlepoint.visits.dashboard import lapsing
from tests.conftest import all_no, clear_for_needling
from tests.visits.visit_helpers import open_neck_episode


def _in_care(clinician, given_name: str):
    """A patient screened and consented now, with an open episode and a visit today."""
    patient = patient_actions.register_patient(
        clinician, {"given_name": given_name, "family_name": "Lapse", "date_of_birth": date(1975, 1, 1), "sex": "male"}
    )
    clear_for_needling(clinician, patient)
    actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    return patient


def _when_screenings_lapse_soon() -> timezone.datetime:
    # Today's screenings lapse after SCREENING_VALID_DAYS: seen from ten days before that, they lapse within the
    # list's 14 days, and today's visit is still within the 90 days of current care.
    return timezone.now() + timedelta(days=settings.SCREENING_VALID_DAYS - 10)


def test_the_list_names_lapsing_screenings_and_consents_that_no_longer_hold(clinician, django_assert_num_queries):
    ada, ben, _cy = (_in_care(clinician, name) for name in ("Ada", "Ben", "Cy"))
    patient_actions.withdraw_consent(clinician, Consent.objects.get(patient=ben), "Changed her mind")
    # A new edition of the consent text: Cy's consent was given to the old one.
    ConsentText.objects.filter(clinic=clinician.clinic).update(is_current=False)
    old = ConsentText.objects.get(clinic=clinician.clinic)
    ConsentText.objects.create(clinic=clinician.clinic, version=old.version + 1, title="v2", body="v2", is_current=True)
    Consent.objects.filter(patient=ada).update(text=ConsentText.objects.get(is_current=True))

    # Three queries (the screenings, the clinic's old texts, the consents), and none more to show the rows.
    with django_assert_num_queries(3):
        rows = lapsing(clinician, _when_screenings_lapse_soon())
        shown = [(row["patient"].full_name, row["patient"].pk, row["what"], row["detail"]) for row in rows]

    screenings = sorted(name for name, _, what, _ in shown if what == "Screening")
    consents = {name: detail for name, _, what, detail in shown if what == "Consent"}
    assert screenings == ["Ada Lapse", "Ben Lapse", "Cy Lapse"]
    assert consents == {
        "Ben Lapse": "withdrawn",
        "Cy Lapse": f"given to text version {old.version}, not the current one",
    }
    assert all(row["when"] is not None for row in rows)


def test_a_patient_out_of_care_or_screened_again_is_not_listed(clinician):
    ada, ben = _in_care(clinician, "Ada"), _in_care(clinician, "Ben")
    patient_actions.record_screening(clinician, ben, all_no())
    patient_actions.discharge_episode(clinician, Episode.objects.get(patient=ada), timezone.localdate(), "goals_met")
    later = _when_screenings_lapse_soon()
    # Ada's episode is closed: no longer in current care. Ben was screened again: the list names a patient once,
    # by the newest screening.
    names = [row["patient"].full_name for row in lapsing(clinician, later)]
    assert "Ada Lapse" not in names
    assert names.count("Ben Lapse") == 1
