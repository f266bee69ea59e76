"""`needlepoint demo`: the same seed builds the same clinic, a second run adds nothing, and the data is valid."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry, Clinic, Membership, User
from needlepoint.demo import DEMO_PASSWORD, build_demo
from needlepoint.patients.models import Consent, Episode, Patient, Screening
from needlepoint.patients.screening_rules import evaluate_screening

PROJECT = Path(__file__).resolve().parents[2]
SMALL = 15


def fingerprint() -> str:
    """A digest of the demo clinic's patients and their records, without ids or clock times."""
    patients = list(
        Patient.objects.filter(clinic__slug="demo")
        .order_by("mrn")
        .values_list("mrn", "given_name", "family_name", "date_of_birth", "sex", "phone", "email")
    )
    screenings = list(
        Screening.objects.filter(clinic__slug="demo")
        .order_by("patient__mrn")
        .values_list("patient__mrn", "status", "answers", "precautions_note")
    )
    episodes = list(
        Episode.objects.filter(clinic__slug="demo")
        .order_by("patient__mrn")
        .values_list("patient__mrn", "condition", "icd10_code", "side", "status", "discharge_reason")
    )
    consents = list(
        Consent.objects.filter(clinic__slug="demo").order_by("patient__mrn").values_list("patient__mrn", "signed_name")
    )
    blob = json.dumps([patients, screenings, episodes, consents], default=str, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def built_and_undone(patients: int, seed: int) -> str:
    """Build the demo in a transaction, take its fingerprint, and roll it back: a fresh database each time."""
    with transaction.atomic():
        build_demo(patients=patients, seed=seed)
        result = fingerprint()
        transaction.set_rollback(True)
    return result


def counts() -> dict[str, int]:
    models = (Clinic, User, Membership, Patient, Screening, Consent, Episode)
    return {model.__name__: model.objects.count() for model in models}


def test_the_same_seed_builds_the_same_clinic(db) -> None:
    first = built_and_undone(SMALL, seed=7)
    assert not Patient.objects.exists()

    second = built_and_undone(SMALL, seed=7)

    assert first == second


def test_another_seed_builds_another_clinic(db) -> None:
    assert built_and_undone(SMALL, seed=7) != built_and_undone(SMALL, seed=8)


def test_a_second_run_adds_nothing(db) -> None:
    build_demo(patients=SMALL, seed=1)
    before, print_before = counts(), fingerprint()

    again = build_demo(patients=SMALL, seed=1)

    assert counts() == before
    assert fingerprint() == print_before
    assert again.summary["patients_added"] == 0
    assert before["Patient"] == SMALL
    assert before["Clinic"] == 2


def test_a_larger_count_extends_the_clinic_and_keeps_the_first_patients(db) -> None:
    build_demo(patients=SMALL, seed=1)
    first = list(Patient.objects.order_by("mrn").values_list("mrn", "given_name", "family_name", "date_of_birth"))

    build_demo(patients=SMALL + 5, seed=1)

    assert Patient.objects.filter(clinic__slug="demo").count() == SMALL + 5
    after = list(Patient.objects.order_by("mrn").values_list("mrn", "given_name", "family_name", "date_of_birth"))
    assert after[:SMALL] == first
    assert len({mrn for mrn, *_ in after}) == SMALL + 5


def test_the_demo_data_obeys_the_same_rules_as_real_data(db) -> None:
    build_demo(patients=60, seed=3)

    for screening in Screening.objects.all():
        assert evaluate_screening(screening.answers, age_years=screening.age_years).status == screening.status
        assert screening.age_years is not None and screening.bmi is not None
    for consent in Consent.objects.select_related("patient"):
        # A child's consent is signed by the guardian, with the child's assent; an adult signs alone.
        assert consent.signed_name == (consent.guardian_name or consent.patient.full_name)
        assert consent.child_assent == consent.by_guardian == (consent.patient_age_years < 18)
    not_cleared = Screening.objects.filter(status="not_cleared").values("patient_id")
    assert not Consent.objects.filter(patient_id__in=not_cleared).exists()
    for episode in Episode.objects.filter(status="discharged"):
        assert episode.discharge_date is not None and episode.discharge_reason
    mrns = list(Patient.objects.values_list("mrn", flat=True))
    assert len(mrns) == len(set(mrns))
    assert Consent.objects.filter(withdrawn_at__isnull=False).count() == 1
    assert Clinic.objects.get(slug="demo").next_mrn_number == 61


def test_the_demo_staff_sign_in_with_the_printed_password(db) -> None:
    from django.test import Client

    build_demo(patients=3, seed=1)

    for username, role in (
        ("pt", "clinician"),
        ("chiro", "clinician"),
        ("desk", "front_desk"),
        ("admin", "clinic_admin"),
    ):
        assert Membership.objects.get(user__username=username, clinic__slug="demo").role == role
        response = Client().post("/login/", {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username


def test_the_load_is_recorded_once_in_the_audit_trail(db) -> None:
    build_demo(patients=4, seed=1)

    entry = AuditEntry.objects.get(via="cli")
    assert entry.actor_label == "needlepoint demo"
    assert entry.summary.startswith("demo data: ")
    assert entry.clinic_id == Clinic.objects.get(slug="demo").pk


def run_demo_command(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    environment |= {"NEEDLEPOINT_DATA_DIR": str(data_dir), "SECRET_KEY": "demo-test"}
    return subprocess.run(
        [sys.executable, "-m", "needlepoint.cli", "demo", *args],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def file_fingerprint(database: Path) -> tuple[int, str]:
    with sqlite3.connect(database) as con:
        rows = con.execute(
            "SELECT p.mrn, p.given_name, p.family_name, p.date_of_birth, p.sex, p.phone, s.status, s.answers, "
            "e.condition, e.side, e.status FROM patients_patient p JOIN accounts_clinic c ON c.id = p.clinic_id "
            "JOIN patients_screening s ON s.patient_id = p.id JOIN patients_episode e ON e.patient_id = p.id "
            "WHERE c.slug = 'demo' ORDER BY p.mrn, s.id, e.id"
        ).fetchall()
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def test_the_command_builds_identical_fresh_databases_and_a_rerun_adds_nothing(tmp_path) -> None:
    # Dates of birth count back from today, so two builds either side of midnight differ by a day: such a pair is
    # built again (the day can change only once in the few seconds the builds take).
    for attempt in ("first", "again"):
        one, two = tmp_path / attempt / "one", tmp_path / attempt / "two"
        day = timezone.localdate()
        first = run_demo_command(one, "--patients", "12", "--seed", "5")
        second = run_demo_command(two, "--patients", "12", "--seed", "5")
        if timezone.localdate() == day:
            break
    rerun = run_demo_command(one, "--patients", "12", "--seed", "5")

    for result in (first, second, rerun):
        assert result.returncode == 0, result.stderr[-3000:]
    assert "patients_added 12" in first.stdout
    assert "patients_added 0" in rerun.stdout
    assert "pt       / needlepoint-demo" in first.stdout
    size, digest = file_fingerprint(one / "needlepoint.sqlite3")
    assert size == 12
    assert (size, digest) == file_fingerprint(two / "needlepoint.sqlite3")


def test_the_demo_shows_a_thin_a_pregnant_and_a_child_patient(db) -> None:
    from needlepoint.patients.gate import needling_clearance

    build_demo(patients=6, seed=5)
    screenings = {s.patient.mrn: s for s in Screening.objects.select_related("patient")}
    thin, pregnant, child = (screenings[f"HS-{n:07d}"] for n in (2, 3, 4))

    assert thin.result().finding("low_bmi").details == {"bmi": 17.4}
    assert pregnant.patient.sex == "female"
    assert pregnant.result().finding("pregnancy").details == {"pregnancy_trimester": 2}
    assert child.age_years < 18 and child.result().finding("child") is not None
    consent = Consent.objects.get(patient=child.patient)
    assert consent.guardian_relationship == "parent" and consent.child_assent
    assert consent.signed_name == consent.guardian_name != child.patient.full_name
    assert needling_clearance(child.patient).allowed
    # Everyone screened has a measured build; only the thin patient is below the WHO cut-off.
    assert all(s.bmi is not None for s in screenings.values())
    assert [s.patient.mrn for s in screenings.values() if s.result().finding("low_bmi")] == [thin.patient.mrn]
