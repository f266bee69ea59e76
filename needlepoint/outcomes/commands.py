"""The outcome sub-commands of ``needlepoint``: ``instruments``, ``score``, ``progress-report`` and
``outcomes send-due``.

``instruments`` and ``score`` read the instrument files only (no database); ``progress-report`` writes an
episode's one-page PDF report, recorded in the audit trail as an export by the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from needlepoint.outcomes import answers
from needlepoint.outcomes.scoring import ScoringError, instrument, instruments, printed_scale, score


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], setup_django: Callable[..., None]
) -> None:
    """Add ``instruments``, ``score`` and ``progress-report`` to the ``needlepoint`` command."""
    p = subparsers.add_parser("instruments", help="list the outcome instruments with their MCID and MDC")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--items", metavar="CODE", help="list one instrument's items with the scale its form prints")
    p.set_defaults(func=cmd_instruments)

    p = subparsers.add_parser(
        "score",
        help="score a questionnaire from its answers in item order",
        description="Score answers in item order with the instrument's published rules. Give each answer as the "
        "form prints it: for a choice item the value printed beside the option (GROC -7 to +7, QuickDASH 1 to 5, "
        "HIT-6 6/8/10/11/13, NDI and ODI 0 to 5) or the option's label in quotes, for a 0-N item the number; "
        "'-' leaves an item unanswered. `needlepoint instruments --items CODE` shows each item's printed scale. "
        "Example: needlepoint score ODI 2 1 3 1 2 2 1 - 2 2",
    )
    p.add_argument("instrument", help="instrument code, e.g. ODI (see `needlepoint instruments`)")
    p.add_argument("answers", nargs="+", help="answers in item order; '-' = unanswered")
    p.set_defaults(func=cmd_score)

    p = subparsers.add_parser("progress-report", help="write an episode's one-page progress report as PDF")
    p.add_argument("--clinic", required=True, help="clinic slug")
    p.add_argument("--episode", required=True, type=int, help="episode id (shown in the episode page's address)")
    p.add_argument("--for", dest="audience", choices=["patient", "doctor"], default="doctor")
    p.add_argument("--output", "-o", required=True, help="PDF file to write")
    p.set_defaults(func=lambda args: cmd_progress_report(args, setup_django))

    p = subparsers.add_parser("outcomes", help="questionnaires on schedule")
    sub = p.add_subparsers(dest="outcomes_command", required=True)
    due = sub.add_parser(
        "send-due",
        help="send every questionnaire the schedule makes due, once (cron, e.g. daily)",
        description="For each open (or lately discharged) episode, send one link with the questionnaires its "
        "condition's plan makes due today (baseline, every N days, every Nth visit, discharge) and that are not "
        "answered or on a link still open. Patients who opted out or have no contact, and questionnaires that "
        "cannot be sent, are skipped and listed. Run twice, it sends once.",
    )
    due.add_argument("--clinic", help="only this clinic (slug)")
    due.add_argument("--dry-run", action="store_true", help="list what would be sent; send and store nothing")
    due.add_argument("--json", action="store_true", help="print one JSON object per episode and outcome")
    due.add_argument("--base-url", default="", help="the address links start with (default: SHORT_LINK_BASE)")
    due.set_defaults(func=lambda args: cmd_send_due(args, setup_django))


def cmd_instruments(args: argparse.Namespace) -> int:
    """Print every instrument: code, name, scale, direction, MCID and MDC; or one instrument's items."""
    if args.items:
        return _print_items(args.items, args.json)
    rows: list[dict[str, Any]] = []
    for d in instruments().values():
        rows.append(
            {
                "code": d.code,
                "name": d.name,
                "range": list(d.scale_range),
                "unit": d.unit,
                "direction": d.direction,
                "mcid": None
                if d.mcid is None
                else {"value": d.mcid.value, "unit": d.mcid.unit, "below_mdc": d.below_mdc(d.mcid)},
                "mdc": None if d.mdc is None else {"value": d.mdc.value, "unit": d.mdc.unit},
                "wording_shipped": bool(d.licence.get("wording_shipped")),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for r in rows:
        mcid = f"MCID {r['mcid']['value']:g} {r['mcid']['unit']}" if r["mcid"] else "no MCID"
        mcid += " (below the MDC: a change must pass both)" if r["mcid"] and r["mcid"]["below_mdc"] else ""
        mdc = f"MDC {r['mdc']['value']:g}" if r["mdc"] else "no MDC"
        low, high = r["range"]
        better = "lower" if r["direction"] == "higher_is_worse" else "higher"
        print(f"{r['code']:<9} {r['name'][:46]:<46} {low:g}-{high:g} {r['unit']:<8} {better} better; {mcid}; {mdc}")
    return 0


def _print_items(code: str, as_json: bool) -> int:
    """One instrument's items in order, each with the answers its form prints."""
    try:
        defn = instrument(code)
    except ScoringError as exc:
        print(f"error: {exc.reason}", file=sys.stderr)
        return 2
    if as_json:
        rows = [
            {
                "id": i.id,
                "label": i.label,
                "kind": i.kind,
                "options": [{"value": float(o.printed), "label": o.label} for o in i.options],
                "minimum": float(i.minimum),
                "maximum": float(i.maximum),
            }
            for i in defn.items
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(f"{defn.code} {defn.name}: answers in this order, as the form prints them")
    for number, i in enumerate(defn.items, start=1):
        print(f"{number:>2}. {i.label}: {printed_scale(i)}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score answers given on the command line as the form prints them; exit 2 with the reason when they
    cannot be scored (the message shows the item's printed scale)."""
    try:
        defn = instrument(args.instrument)
        given = answers.from_list(defn, [None if a == "-" else a for a in args.answers])
        result = score(defn.code, given)
    except ScoringError as exc:
        print(f"error: {exc.reason}", file=sys.stderr)
        return 2
    except answers.AnswerError as exc:
        print(f"error: {defn.code}: {exc}", file=sys.stderr)
        return 2
    band = f" ({result.band})" if result.band else ""
    print(f"{result.instrument} {result.total:g} {result.unit}{band}; {result.items_answered} items answered")
    for name, value in result.subscales.items():
        print(f"  {name}: {value:g}")
    return 0


def cmd_progress_report(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    """Write one episode's progress report PDF."""
    setup_django()
    from needlepoint.accounts import audit
    from needlepoint.outcomes.progress import episode_progress
    from needlepoint.outcomes.reports import AUDIENCES, progress_pdf
    from needlepoint.patients.models import Episode

    episode = Episode.objects.select_related("patient", "clinic").filter(clinic__slug=args.clinic, pk=args.episode)
    found = episode.first()
    if found is None:
        print(f"error: clinic {args.clinic} has no episode {args.episode}", file=sys.stderr)
        return 2
    pdf = progress_pdf(episode_progress(found), args.audience)
    Path(args.output).write_bytes(pdf)
    with audit.event(audit.Actor(None, found.clinic_id, "cli", None, "needlepoint progress-report")):
        audit.record("export", found, summary=f"progress report PDF {AUDIENCES[args.audience]} to a file")
    print(f"Wrote {args.output} ({len(pdf) // 1024} KB): progress report {AUDIENCES[args.audience]}.")
    return 0


def cmd_send_due(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    """Send (or, with --dry-run, list) the due questionnaires; exit 1 if any send failed, 2 without a base URL."""
    setup_django()
    from django.conf import settings

    from needlepoint.outcomes.schedule import send_due

    base = args.base_url or getattr(settings, "SHORT_LINK_BASE", "")
    if not base and not args.dry_run:
        print("error: give --base-url (or set SHORT_LINK_BASE): links need the clinic's address", file=sys.stderr)
        return 2
    outcomes = send_due(base, clinic_slug=args.clinic, dry_run=args.dry_run)
    for o in outcomes:
        row = {
            "clinic": o.clinic,
            "episode": o.episode_id,
            "patient": o.patient_id,
            "instruments": list(o.instruments),
            "time_point": o.time_point,
            "status": o.status,
            "detail": o.detail,
        }
        if args.json:
            print(json.dumps(row))
        else:
            codes = ", ".join(o.instruments)
            print(f"{o.clinic} episode {o.episode_id}: {codes} ({o.time_point}): {o.status}, {o.detail}")
    if not args.json:
        statuses = ("sent", "would send", "skipped", "already sent", "failed")
        counts = {status: sum(o.status == status for o in outcomes) for status in statuses}
        print("; ".join(f"{n} {status}" for status, n in counts.items()) + ".")
    return 1 if any(o.status == "failed" for o in outcomes) else 0
