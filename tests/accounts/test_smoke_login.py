"""Sign-in works end to end through the login form."""

from django.test import Client

from tests.conftest import PASSWORD


def test_a_clinician_signs_in_and_sees_the_patient_search(clinician) -> None:
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "next": "/patients/"})
    assert response.status_code == 302
    assert response["Location"] == "/patients/"
    page = client.get("/patients/")
    assert b"Search" in page.content
