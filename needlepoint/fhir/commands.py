"""The FHIR sub-commands: ``needlepoint export patient`` (a patient's whole record, for the right of access) and
``needlepoint fhir export-worker`` (runs the queued Bulk Data $export jobs)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], setup_django: Callable[..., None]
) -> None:
    """Add ``export patient`` to the ``needlepoint`` command."""
    p = subparsers.add_parser("export", help="export records")
    sub = p.add_subparsers(dest="export_command", required=True)
    patient = sub.add_parser(
        "patient",
        help="one patient's whole record as a FHIR Bundle and a readable PDF (right of access)",
        description="Write DIR/record-MRN.fhir.json (a FHIR R4 collection Bundle: everything $everything has, "
        "plus visit notes and addenda, screenings, pain drawings, adverse-event follow-ups and questionnaire "
        "notes as DocumentReferences) and DIR/record-MRN.pdf. The export is recorded in the audit trail.",
    )
    patient.add_argument("--clinic", required=True, help="the clinic's slug")
    patient.add_argument("--patient", required=True, type=int, help="the patient's id")
    patient.add_argument("--output", required=True, type=Path, help="the folder to write into")
    patient.set_defaults(func=lambda args: cmd_export_patient(args, setup_django))

    fhir = subparsers.add_parser("fhir", help="FHIR background work")
    fhir_sub = fhir.add_subparsers(dest="fhir_command", required=True)
    worker = fhir_sub.add_parser(
        "export-worker",
        help="run the queued bulk $export jobs (needs nothing but the database)",
        description="Claim queued $export jobs one at a time and write their ndjson files into the data folder; "
        "delete the files of expired exports. Runs until stopped, or with --once until no job is queued (for cron).",
    )
    worker.add_argument("--once", action="store_true", help="run the queued jobs, then exit")
    worker.add_argument("--idle-seconds", type=float, default=2.0, help="how long to wait when no job is queued")
    worker.set_defaults(func=lambda args: cmd_export_worker(args, setup_django))


def cmd_export_patient(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    """Write both files; exit status 2 if the clinic or patient is not found or a file already exists."""
    setup_django()
    from needlepoint.accounts import audit
    from needlepoint.fhir.export import file_stem, record_bundle, record_pdf_bytes
    from needlepoint.patients.models import Patient

    patient = Patient.objects.select_related("clinic").filter(clinic__slug=args.clinic, pk=args.patient).first()
    if patient is None:
        print(f"error: clinic {args.clinic!r} has no patient {args.patient}", file=sys.stderr)
        return 2
    targets = [args.output / f"{file_stem(patient)}.fhir.json", args.output / f"{file_stem(patient)}.pdf"]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        print(f"error: {', '.join(existing)} already exist(s); choose another folder", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    actor = audit.Actor(None, patient.clinic_id, "cli", None, "needlepoint export patient")
    # One event per document, each closed (its export recorded) before the file is written: what leaves the
    # system is in the trail even if the command stops halfway.
    with audit.event(actor):
        bundle = record_bundle(patient)
    targets[0].write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    with audit.event(actor):
        pdf = record_pdf_bytes(patient)
    targets[1].write_bytes(pdf)
    print(f"Wrote {targets[0]} ({len(bundle['entry'])} resources) and {targets[1]}.")
    return 0


def cmd_export_worker(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    """Run queued export jobs (see ``needlepoint.fhir.bulk.work``)."""
    setup_django()
    from needlepoint.fhir.bulk import work

    ran = work(once=args.once, idle_seconds=args.idle_seconds)
    print(f"{ran} export job(s) run.")
    return 0
