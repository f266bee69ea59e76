"""The request the views see: a signed-in user whose clinic role has ended acts under no membership, and every
page that needs one refuses (403) rather than failing."""

from __future__ import annotations

import pytest
from django.test import Client

from needlepoint.accounts.models import Membership


@pytest.mark.parametrize(
    "path",
    ["/patients/", "/patients/?q=doe", "/patients/{patient}/", "/account/tokens/", "/schedule/", "/audit/"],
)
def test_a_user_of_no_clinic_is_refused_not_failed(clinician: Membership, patient, path: str) -> None:
    Membership.objects.filter(pk=clinician.pk).update(is_active=False)
    client = Client()
    client.force_login(clinician.user)
    response = client.get(path.format(patient=patient.pk))
    assert response.status_code == 403


def test_the_dashboard_sends_a_user_of_no_clinic_to_the_patient_search(clinician: Membership) -> None:
    Membership.objects.filter(pk=clinician.pk).update(is_active=False)
    client = Client()
    client.force_login(clinician.user)
    assert client.get("/").status_code == 302
