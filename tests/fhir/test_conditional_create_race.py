"""Two imports of the same person at the same moment: exactly one patient is created, whether the bundles name
them by an identifier (conditional create, ifNoneExist) or by the same name and birth date.

Each import runs in its own thread with its own database connection. The test holds the clinic's row while both
start, and lets go once both wait on it (pg_locks), so that both are in flight together every run: had either
looked for the patient before waiting, both would find no one and both would create.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from needlepoint.accounts.models import AuditEntry, Clinic, Membership
from needlepoint.fhir.importer import import_bundle
from needlepoint.fhir.incoming import BundleRejected
from needlepoint.patients.models import Patient, PatientIdentifier

SENDER = "https://sender.example/mrn"


def conditional_bundle(family: str) -> dict[str, Any]:
    """A transaction Bundle with one Patient (sender's number A-100), created only if none of the clinic has it."""
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": SENDER, "value": "A-100"}],
        "name": [{"family": family, "given": ["Ada"]}],
        "birthDate": "1970-04-02",
        "gender": "female",
    }
    request = {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier={SENDER}|A-100"}
    entry = {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111", "resource": patient, "request": request}
    return {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}


def waiting(pids: list[int]) -> int:
    """How many of these database sessions wait for a lock now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND pid = ANY(%s)", [pids])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def race(clinician: Membership, bundles: list[dict[str, Any]]) -> list[str]:
    """Import ``bundles`` at once, one thread and one connection each, while the test holds the clinic's row until
    every import waits for it; what each import answered (the Patient entry's status, or the refusal's)."""
    pids: list[int] = []
    outcomes: list[str] = []

    def run(sent: dict[str, Any]) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids.append(cursor.fetchone()[0])
            result = import_bundle(clinician, sent)
            outcomes.append(result.response["entry"][0]["response"]["status"])
        except BundleRejected as refusal:
            outcomes.append(f"refused {refusal.status}")
        except Exception as exc:  # the outcome is what the test compares
            outcomes.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(sent,)) for sent in bundles]
    with transaction.atomic():
        Clinic.objects.select_for_update(no_key=True).get(pk=clinician.clinic_id)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while (len(pids) < len(bundles) or waiting(pids) < len(bundles)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting(pids) == len(bundles), "every import should be waiting for the clinic's row"
    for thread in threads:
        thread.join(60)
    return sorted(outcomes)


def skip_unless_postgres() -> None:
    if connection.vendor != "postgresql":
        # The test watches PostgreSQL's pg_locks for both imports to wait. On SQLite every write transaction begins
        # IMMEDIATE (settings), so one import's search and create run before the other's search starts.
        pytest.skip("needs PostgreSQL: the test waits for both imports to block on the clinic's row in pg_locks")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_conditional_imports_of_one_identifier_create_one_patient(clinician: Membership) -> None:
    skip_unless_postgres()
    # Different names, so the import's own name-and-birth-date check cannot stand in for the identifier's.
    outcomes = race(clinician, [conditional_bundle("Okafor"), conditional_bundle("Okafor-Smith")])

    assert outcomes == ["200 OK", "201 Created"], outcomes
    patient = Patient.objects.get()
    assert PatientIdentifier.objects.get().patient == patient
    # Each import searched once, and each search is in the audit trail.
    assert AuditEntry.objects.filter(action="search", object_type="fhir.Patient").count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_imports_of_one_name_and_birth_date_create_one_patient(clinician: Membership) -> None:
    skip_unless_postgres()
    plain = conditional_bundle("Okafor")
    del plain["entry"][0]["request"]["ifNoneExist"]

    outcomes = race(clinician, [plain, plain])

    assert outcomes == ["201 Created", "refused 409"], outcomes
    assert Patient.objects.count() == 1
