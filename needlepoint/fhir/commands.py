"""The ``needlepoint export patient`` sub-command: a patient's whole record, for the right of access."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path


def register(subparsers: argparse._SubParsersAction, setup_django: Callable[..., None]) -> None:
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
    with audit.acting_as(actor):
        bundle = record_bundle(patient)
        targets[0].write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
        targets[1].write_bytes(record_pdf_bytes(patient))
    print(f"Wrote {targets[0]} ({len(bundle['entry'])} resources) and {targets[1]}.")
    return 0
