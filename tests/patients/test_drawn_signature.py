"""A consent may carry a drawn signature beside the typed name; only a plain drawing path is accepted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from needlepoint.patients import actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import Consent
from tests.conftest import client_for

DRAWING = "M 10 20 L 40 60 L 80 30 M 100 100 L 120 110"


def test_a_drawn_signature_is_kept_with_the_consent_and_shown(clinician, patient) -> None:
    text = current_consent_text(patient.clinic)
    actions.record_consent(clinician, patient, patient.full_name, text.version, drawn_signature=DRAWING)
    assert Consent.objects.get(patient=patient).drawn_signature == DRAWING
    page = client_for(clinician).get(f"/patients/{patient.pk}/")
    assert f'd="{DRAWING}"'.encode() in page.content


@pytest.mark.parametrize("drawing", ['M 1 2 L 3 4"/><script>alert(1)</script>', "L 1 2", "M 1 2 Z", "M 99999 1"])
def test_anything_but_a_drawing_path_is_refused_and_nothing_saved(clinician, patient, drawing) -> None:
    text = current_consent_text(patient.clinic)
    with pytest.raises(ValidationError) as refused:
        actions.record_consent(clinician, patient, patient.full_name, text.version, drawn_signature=drawing)
    assert "not a signature drawing" in str(refused.value)
    assert not Consent.objects.filter(patient=patient).exists()


def test_the_consent_page_offers_a_drawing_pad(clinician, patient) -> None:
    page = client_for(clinician).get(f"/patients/{patient.pk}/consent/new/")
    assert b'id="signature-pad"' in page.content
    assert b"js/signature.js" in page.content
