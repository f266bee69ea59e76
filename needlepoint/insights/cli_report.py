"""``needlepoint report claims``, ``needlepoint report responders`` and ``needlepoint import outcomes``.

The reports print the same figures as the evidence page (the same report object and the same formatting), as
text or, with ``--json``, as JSON. The import validates every row and writes nothing unless all rows pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from needlepoint.insights import formatting

if TYPE_CHECKING:
    from needlepoint.accounts.models import Clinic
    from needlepoint.insights.filters import ReportFilters, ReportOptions


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], setup_django: Callable[..., None]
) -> None:
    """Add ``report`` (claims, responders) and ``import`` (outcomes) to the ``needlepoint`` command."""
    report = subparsers.add_parser("report", help="print the clinic evidence report (claims, responders)")
    report_sub = report.add_subparsers(dest="report", required=True)

    p = report_sub.add_parser(
        "claims", help="the three claims per condition: consistent with the claim, not consistent, or not enough data"
    )
    _common(p)
    p.set_defaults(func=lambda args: _run(args, setup_django, _claims))

    p = report_sub.add_parser("responders", help="responder rates for one measure, by group")
    _common(p)
    p.add_argument("--instrument", required=True, help="instrument code, e.g. NPRS, NDI, ODI")
    p.add_argument(
        "--by", choices=["all", "condition", "cohort", "clinician"], default="all", help="group the rates (default all)"
    )
    p.set_defaults(func=lambda args: _run(args, setup_django, _responders))

    p = report_sub.add_parser("clinicians", help="observed minus expected change in pain per clinician (risk-adjusted)")
    p.add_argument("--clinic", help="clinic slug (needed when the database holds several clinics)")
    p.add_argument("--condition", default="", help="only this condition (code, e.g. neck_pain)")
    p.add_argument("--from", dest="date_from", default="", help="episodes opened from this date (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", default="", help="episodes opened up to this date (YYYY-MM-DD)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=lambda args: _run(args, setup_django, _clinicians))

    insights = subparsers.add_parser("insights", help="maintain the evidence report's summary tables")
    insights_sub = insights.add_subparsers(dest="insights", required=True)
    p = insights_sub.add_parser(
        "refresh",
        help="bring the per-episode summary tables the claims report reads up to date (the report also does this "
        "by itself before each view)",
    )
    p.add_argument("--clinic", help="clinic slug (default: every clinic)")
    p.add_argument("--full", action="store_true", help="rebuild every episode, not only those changed since")
    p.set_defaults(func=lambda args: _run(args, setup_django, _refresh))

    importer = subparsers.add_parser("import", help="import outcome data from a CSV file")
    import_sub = importer.add_subparsers(dest="import_kind", required=True)
    p = import_sub.add_parser("outcomes", help="import a long-format outcome CSV: one episode per patient")
    p.add_argument("file", type=Path, help="the CSV file")
    p.add_argument("--clinic", help="clinic slug (needed when the database holds several clinics)")
    p.add_argument("--user", required=True, help="username of the clinician the import is recorded under")
    p.add_argument("--condition", required=True, help="condition code of the episodes, e.g. low_back_pain")
    p.add_argument("--patient-col", default="id", help="column with the patient id (default id)")
    p.add_argument("--time-col", default="time", help="column with the time point: an ordinal or a date (default time)")
    p.add_argument("--group-col", help="column with the group or cohort (e.g. a trial arm)")
    p.add_argument(
        "--group-label", action="append", default=[], metavar="VALUE=LABEL", help="name a group value (repeatable)"
    )
    p.add_argument("--instrument-col", help="column with the instrument code (long format)")
    p.add_argument(
        "--value-col", action="append", default=[], help="column with the value; with --instrument, one per instrument"
    )
    p.add_argument("--instrument", action="append", default=[], help="instrument of the matching --value-col")
    p.add_argument(
        "--mean-of",
        type=int,
        default=1,
        metavar="N",
        help="each value is the mean of N ratings of a one-rating instrument (a trial's average pain); default 1",
    )
    p.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE", help="import only matching rows")
    p.add_argument("--mrn-prefix", default="", help="prefix of the MRNs made from the patient ids")
    p.add_argument(
        "--start-date", type=_date, help="date of the first ordinal time point (default: so the last is today)"
    )
    p.add_argument("--days-per-step", type=int, default=28, help="days between ordinal time points (default 28)")
    p.add_argument("--source", choices=["patient", "clinician"], default="patient", help="who gave the values")
    p.add_argument("--delimiter", default=",", help="field delimiter (default ,)")
    p.add_argument("--allow-repeat", action="store_true", help="import a file that was imported before")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=lambda args: _run(args, setup_django, _import))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clinic", help="clinic slug (needed when the database holds several clinics)")
    p.add_argument("--condition", default="", help="only this condition (code, e.g. neck_pain)")
    p.add_argument("--clinician", default="", help="only episodes opened by this clinician (username or id)")
    p.add_argument("--from", dest="date_from", default="", help="episodes opened from this date (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", default="", help="episodes opened up to this date (YYYY-MM-DD)")
    p.add_argument("--muscle", default="", help="only episodes with this muscle needled (atlas id)")
    p.add_argument("--technique", default="", help="only episodes with this technique used")
    p.add_argument("--cohort", default="", help="only this imported cohort")
    p.add_argument("--rule", default="mcid", help="responder rule: mcid, percent:30, final-at-most:1 (default mcid)")
    p.add_argument("--missing", default="itt", help="missing follow-up: itt or completers (default itt)")
    p.add_argument(
        "--min-n", default="", help="smallest group shown (default 10); claims are never judged on fewer than 20"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _run(
    args: argparse.Namespace, setup_django: Callable[..., None], action: Callable[[argparse.Namespace], int]
) -> int:
    setup_django(local=True)
    from needlepoint.accounts import audit

    with audit.event(audit.Actor(None, None, "cli", None, f"needlepoint {args.command}")):
        try:
            return action(args)
        except CommandError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2


def _clinicians(args: argparse.Namespace) -> int:
    from needlepoint.insights.clinician_comparison import clinician_comparison
    from needlepoint.insights.comparison_cli import comparison_json, comparison_text
    from needlepoint.insights.filters import FilterError, parse_filters

    clinic = _clinic(args.clinic)
    params = {"condition": args.condition, "date_from": args.date_from, "date_to": args.date_to}
    try:
        filters, _ = parse_filters(clinic.pk, params)
    except FilterError as exc:
        raise CommandError(" ".join(exc.errors.values())) from None
    report = clinician_comparison(clinic, filters)
    if args.json:
        print(json.dumps(comparison_json(report), indent=2))
    else:
        print("\n".join(comparison_text(report)))
    return 0


def _clinic(slug: str | None) -> Clinic:
    from needlepoint.accounts.models import Clinic

    if slug:
        found = Clinic.objects.filter(slug=slug).first()
        if found is None:
            raise CommandError(f"No clinic {slug!r}.")
        return found
    clinics = list(Clinic.objects.order_by("pk")[:2])
    if len(clinics) != 1:
        raise CommandError("Name the clinic with --clinic SLUG." if clinics else "No clinic in this database.")
    return clinics[0]


def _filters(args: argparse.Namespace, clinic_id: int) -> tuple[ReportFilters, ReportOptions]:
    from needlepoint.insights.filters import FilterError, parse_filters

    params = {
        "condition": args.condition,
        "clinician": args.clinician,
        "date_from": args.date_from,
        "date_to": args.date_to,
        "muscle": args.muscle,
        "technique": args.technique,
        "cohort": args.cohort,
        "rule": args.rule,
        "missing": args.missing,
        "min_n": args.min_n,
    }
    try:
        return parse_filters(clinic_id, params)
    except FilterError as exc:
        raise CommandError(" ".join(exc.errors.values())) from None


# ---------------------------------------------------------------------------------------------------- claims


def _claims(args: argparse.Namespace) -> int:
    from needlepoint.insights.report import claims_report

    clinic = _clinic(args.clinic)
    filters, options = _filters(args, clinic.pk)
    report = claims_report(clinic, filters, options)
    if args.json:
        print(json.dumps(claims_json(report), indent=2))
        return 0
    for line in claims_text(report):
        print(line)
    return 0


def claims_json(report: Any) -> dict[str, Any]:
    """The claims report as plain JSON data (the API returns the same)."""
    data: dict[str, Any] = formatting.plain(report)
    data["filters"]["description"] = report.filters.describe()
    data["options"] = {
        "rule": report.options.rule_text,
        "missing": str(report.options.missing),
        "minimum_n": report.options.minimum_n,
        "claims_minimum_n": report.claims_minimum_n,
    }
    return data


def claims_text(report: Any) -> list[str]:
    """The claims report as lines of text: the same figures, in the same words, as the page."""
    lines = [
        f"{report.clinic_name}: what the clinic's own data show (as of {report.as_of.isoformat()})",
        report.source_note,
        f"{report.filters.describe().capitalize()}: {report.episodes} episodes ({report.needled_episodes} needled), "
        f"{report.needled_visits} needled visits.",
        f"Responder rule: {report.rule_note}",
        f"Missing follow-up: {'intention to treat' if report.options.missing == 'itt' else 'completers only'}.",
        "",
    ]
    if not report.enough_episodes:
        lines.append("Not enough data: no episode of care matches these filters.")
    for condition in report.verdicts:
        lines.append(condition.label)
        for verdict in condition.verdicts:
            lines.append(f"  {formatting.CLAIM_TITLES[verdict.claim]}: {formatting.STATUS_WORDS[verdict.status]}")
            lines.append(f"    {verdict.headline}")
            lines.append(f"    {verdict.reason}")
            lines.extend(f"    - {detail}" for detail in verdict.details)
            lines.append(f"    Published trial evidence: {verdict.published.summary}")
        lines.append("")
    lines.append("Outcomes per condition and measure")
    for row in report.measures:
        lines.append(
            f"  {row.group} | {row.cohort} | {row.instrument} | baseline {formatting.mean(row.baseline)} | final "
            f"{formatting.mean(row.final)} | change {formatting.mean(row.change)} | responders "
            f"{formatting.share(row.responders)}"
        )
    lines.append("Adverse events per 1,000 needled visits")
    for row in report.event_rates:
        published = "; ".join(f"{item.study} {item.per_1000:g}" for item in row.published)
        lines.append(
            f"  {row.event_type} ({row.severity}): {formatting.rate(row.rate)}"
            + (f" | published: {published}" if published else "")
        )
    lines.append("")
    lines.append("Definitions: " + " ".join(report.definitions.values()))
    lines.append("Method: " + " ".join(report.method))
    lines.append("Limits: " + " ".join(report.limits))
    return lines


# ---------------------------------------------------------------------------------------------------- refresh


def _refresh(args: argparse.Namespace) -> int:
    from needlepoint.accounts.models import Clinic
    from needlepoint.insights.summaries import catch_up_cells, refresh

    clinics = [_clinic(args.clinic)] if args.clinic else list(Clinic.objects.order_by("pk"))
    for clinic in clinics:
        run = refresh(clinic, full=True if args.full else None)
        assert run is not None  # the refresh waits for another one to finish
        if run.checked_at is not None:  # nothing changed since the last refresh: the summary is current
            print(f"{clinic.slug}: no change since the last refresh; figures as of {run.checked_at:%Y-%m-%d %H:%M}")
        else:
            what = "full refresh" if run.kind == "full" else f"{run.changed_episodes:,} changed episodes"
            print(
                f"{clinic.slug}: {what}: {run.episodes:,} episodes, {run.measures:,} measure rows, "
                f"{run.rom_series:,} ROM series, {run.visits:,} needled visits written in {run.seconds:.2f} s "
                f"(wall time, commit included); figures as of {run.started_at.isoformat(timespec='seconds')}"
            )
        started = time.perf_counter()
        caught_up = catch_up_cells(clinic.pk)
        if caught_up:
            seconds = time.perf_counter() - started
            print(
                f"{clinic.slug}: the summary cells of {caught_up} months given differences added up again"
                f" in {seconds:.2f} s"
            )
    return 0


# ---------------------------------------------------------------------------------------------------- responders


def _responders(args: argparse.Namespace) -> int:
    from needlepoint.insights.report import responder_report
    from needlepoint.outcomes.scoring import ScoringError

    clinic = _clinic(args.clinic)
    filters, options = _filters(args, clinic.pk)
    try:
        report = responder_report(clinic, filters, options, args.instrument, by=args.by)
    except ScoringError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        data = formatting.plain(report)
        data["filters"]["description"] = report.filters.describe()
        print(json.dumps(data, indent=2))
        return 0
    for line in responders_text(report):
        print(line)
    return 0


def responders_text(report: Any) -> list[str]:
    """The responder report as lines of text."""
    lines = [
        f"{report.clinic_name}: responders on {report.instrument} ({report.instrument_name})",
        f"{report.filters.describe().capitalize()}; rule {report.rule_text}: {report.rule_note}",
    ]
    if not report.rows:
        lines.append("Not enough data: no episode has a baseline score on this measure.")
    for row in report.rows:
        lines.append(
            f"  {row.group}: responders {formatting.share(row.responders)}; change {formatting.mean(row.change)}; "
            f"baseline {formatting.mean(row.baseline)}; final {formatting.mean(row.final)}"
        )
        lines.append(f"    {row.missing_note}")
    return lines


# ---------------------------------------------------------------------------------------------------- import


def _import(args: argparse.Namespace) -> int:
    from needlepoint.accounts.models import Membership
    from needlepoint.insights.importer import ImportOptions, ImportRejected, import_outcomes

    clinic = _clinic(args.clinic)
    membership = Membership.objects.filter(clinic=clinic, user__username=args.user, is_active=True).first()
    if membership is None:
        raise CommandError(f"{args.user!r} is not an active member of {clinic.slug}.")
    if args.instrument and len(args.instrument) != len(args.value_col):
        raise CommandError("Give one --value-col for each --instrument, in the same order.")
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise CommandError(f"Cannot read {args.file}: {exc.strerror}.") from None
    options = ImportOptions(
        condition=args.condition,
        patient_col=args.patient_col,
        time_col=args.time_col,
        instrument_col=args.instrument_col,
        value_col=args.value_col[0] if args.instrument_col and args.value_col else None,
        value_cols=tuple(zip(args.value_col, args.instrument, strict=True)) if args.instrument else (),
        group_col=args.group_col,
        group_labels=_pairs(args.group_label, "--group-label"),
        where=_pairs(args.where, "--where"),
        mrn_prefix=args.mrn_prefix,
        start_date=args.start_date,
        days_per_step=args.days_per_step,
        source=args.source,
        delimiter=args.delimiter,
        mean_of=args.mean_of,
    )
    from needlepoint.accounts import audit

    with audit.event(audit.Actor(membership.user_id, clinic.pk, "cli", None, args.user)):
        try:
            result = import_outcomes(membership, data, args.file.name, options, allow_repeat=args.allow_repeat)
        except ImportRejected as exc:
            print(f"error: nothing imported; {len(exc.errors)} problem(s):", file=sys.stderr)
            for line, reason in exc.errors:
                print(f"  line {line}: {reason}" if line else f"  {reason}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(formatting.plain({**result.outcome_import.summary, "import_id": result.outcome_import.pk})))
    else:
        print(f"Imported {args.file.name} into {clinic.name} (import #{result.outcome_import.pk}).")
        for text in result.lines():
            print(f"  {text}")
    return 0


def _pairs(items: list[str], option: str) -> dict[str, str]:
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"{option} takes NAME=VALUE, got {item!r}.")
        found[key.strip()] = value.strip()
    return found
