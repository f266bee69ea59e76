"""CPU time of the write actions of one needling visit, each recorded in the audit trail as a request records it.

    .venv/bin/python benchmarks/write_actions.py                    # SQLite in a temporary folder
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/write_actions.py --visits 40 --runs 5

It migrates an empty database, registers one patient through the actions (screened, consented, a neck-pain
episode) and then, ``--runs`` times, documents ``--visits`` visits the way a clinician does: start the visit, add
three needling entries, count the needles out, sign. Each action runs as one audit event, as a request would, so
the audit trail's work (the entry, the hash chain) is in the figures. It prints, per run, the process CPU time per
visit and the wall time, then their medians, the audit entries made per visit and the machine's load. CPU time is
the steadier figure on a shared machine. Run it on two versions of the code to compare their write path.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUSCLES = (("infraspinatus", "TP1"), ("deltoid", "middle"), ("teres-minor", ""))


def _setup(data_dir: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ.setdefault("NEEDLEPOINT_DATA_DIR", data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _clinician_and_episode():  # type: ignore[no-untyped-def]
    """A clinician of a new clinic and a screened, consented patient's open neck-pain episode."""
    from needlepoint.accounts.models import Clinic, Membership, User
    from needlepoint.patients import actions as patient_actions
    from needlepoint.patients.consent import current_consent_text
    from needlepoint.patients.screening_rules import screening_items

    clinic = Clinic.objects.create(name="Benchmark Clinic", slug=f"bench-{os.getpid()}")
    user = User.objects.create_user(f"bench-{os.getpid()}", password="unused-benchmark-password")
    clinician = Membership.objects.create(
        user=user, clinic=clinic, role="clinician", profession="physical_therapist", licence_number="PT-1"
    )
    patient = patient_actions.register_patient(
        clinician, {"given_name": "Bench", "family_name": "Mark", "date_of_birth": date(1980, 5, 1), "sex": "female"}
    )
    answers = {item.code: "no" for item in screening_items()} | {"height_cm": "172", "weight_kg": "70"}
    patient_actions.record_screening(clinician, patient, answers)
    text = current_consent_text(clinic)
    patient_actions.record_consent(clinician, patient, patient.full_name, text.version)
    neck_pain = {"condition": "neck_pain", "icd10_code": "M54.2", "side": "right", "onset_date": date(2024, 1, 10)}
    episode = patient_actions.open_episode(clinician, patient, neck_pain)
    return clinician, episode


def _one_visit(clinician, episode) -> None:  # type: ignore[no-untyped-def]
    """Start, needle three muscles, count out and sign one visit, each action as one audit event."""
    from needlepoint.accounts import audit
    from needlepoint.visits import actions
    from needlepoint.visits.inputs import NeedlingEntryInput, parse
    from needlepoint.visits.models import Visit

    actor = audit.Actor(clinician.user_id, clinician.clinic_id, "web", "127.0.0.1", clinician.user.username)
    who = lambda: actor  # noqa: E731  (a request's event asks who acts; this form runs on older versions too)
    with audit.event(who):
        visit = actions.start_visit(clinician, episode, {})
    for muscle, point in MUSCLES:
        entry = {
            "muscle_id": muscle,
            "side": "right",
            "trigger_point": point,
            "needles": 2,
            "diameter_mm": "0.25",
            "length_mm": "30",
            "technique": "pistoning",
            "twitch_response": "single",
            "minutes_left_in": None,
            "patient_response": "Familiar pain reproduced",
        }
        version = Visit.objects.values_list("version", flat=True).get(pk=visit.pk)
        with audit.event(who):
            actions.add_needling_entry(clinician, visit.pk, parse(NeedlingEntryInput, entry), version)
    visit = Visit.objects.get(pk=visit.pk)
    with audit.event(who):
        actions.record_needle_counts(
            clinician,
            visit.pk,
            opened=visit.needles_opened,
            removed=visit.needles_inserted,
            in_sharps=visit.needles_opened,
            expected_version=visit.version,
        )
    version = Visit.objects.values_list("version", flat=True).get(pk=visit.pk)
    with audit.event(who):
        actions.sign_visit(clinician, visit.pk, version)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=30, help="visits per run (default 30)")
    parser.add_argument("--runs", type=int, default=5, help="runs (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        _setup(data_dir)
        from needlepoint.accounts.models import AuditEntry

        clinician, episode = _clinician_and_episode()
        _one_visit(clinician, episode)  # warm up: imports, caches, the first entry of the chain
        cpu, wall = [], []
        entries_before = AuditEntry.objects.count()
        for run in range(args.runs):
            started_cpu, started = time.process_time(), time.perf_counter()
            for _ in range(args.visits):
                _one_visit(clinician, episode)
            cpu.append((time.process_time() - started_cpu) / args.visits * 1000)
            wall.append((time.perf_counter() - started) / args.visits * 1000)
            print(f"run {run + 1}: {cpu[-1]:6.1f} ms CPU per visit, {wall[-1]:6.1f} ms wall", flush=True)
        entries = (AuditEntry.objects.count() - entries_before) / (args.visits * args.runs)
        engine = "PostgreSQL" if "postgres" in os.environ.get("DATABASE_URL", "") else "SQLite"
        print(
            f"{engine}, {args.runs} runs of {args.visits} visits (start, 3 needling entries, counts, sign): "
            f"median {statistics.median(cpu):.1f} ms CPU and {statistics.median(wall):.1f} ms wall per visit; "
            f"{entries:.1f} audit entries per visit; load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
