"""``needlepoint report clinicians``: the risk-adjusted comparison of clinicians as text or, with ``--json``, as
JSON (the same report object as the page; the command line sees every clinician)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from needlepoint.insights import formatting


def register(report_sub: argparse._SubParsersAction, setup_django: Callable[..., None]) -> None:
    """Add ``clinicians`` to ``needlepoint report``."""
    from needlepoint.insights.cli_report import _run

    p = report_sub.add_parser("clinicians", help="observed minus expected change in pain per clinician (risk-adjusted)")
    p.add_argument("--clinic", help="clinic slug (needed when the database holds several clinics)")
    p.add_argument("--condition", default="", help="only this condition (code, e.g. neck_pain)")
    p.add_argument("--from", dest="date_from", default="", help="episodes opened from this date (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", default="", help="episodes opened up to this date (YYYY-MM-DD)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=lambda args: _run(args, setup_django, _clinicians))


def _clinicians(args: argparse.Namespace) -> int:
    from needlepoint.insights.cli_report import CommandError, _clinic
    from needlepoint.insights.clinician_comparison import clinician_comparison
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


def comparison_json(report: Any) -> dict[str, Any]:
    """The comparison as plain JSON data: every model with its fit, calibration and rows with their words."""
    data = formatting.plain(report)
    data["filters"]["description"] = report.filters.describe()
    data["enough_data"] = report.enough_data
    for model, item in zip(report.models, data["models"], strict=True):
        item["fitted"] = model.fitted
    for block, item in zip(report.blocks, data["blocks"], strict=True):
        for row, entry in zip(block.rows, item["rows"], strict=True):
            if row.comparison is not None:
                entry["comparison"]["finding"] = row.comparison.finding
                entry["comparison"]["text"] = row.comparison.text
    return data


def comparison_text(report: Any) -> list[str]:
    """The comparison as lines of text, in the page's words."""
    lines = [
        f"{report.clinic_name}: clinicians, risk-adjusted (as of {report.as_of.isoformat()})",
        f"{report.filters.describe().capitalize()}: {report.with_baseline} episodes with a baseline pain score, "
        f"{report.with_follow_up} with a later score, {report.adjusted} in a fitted model.",
        "This adjusts only for what is recorded: baseline pain, age, sex, chronicity and condition.",
        "",
    ]
    if not report.enough_data:
        lines.append("Not enough data: the clinic's history is too small to fit the model.")
    for block in report.blocks:
        lines.append(block.label)
        for row in block.rows:
            if row.comparison is None:
                lines.append(f"  {row.name}: withheld ({row.withheld_reason})")
            elif not row.comparison.enough_data:
                lines.append(f"  {row.name}: {row.comparison.reason}")
            else:
                lines.append(
                    f"  {row.name}: observed {row.comparison.observed:+.1f}, expected {row.comparison.expected:+.1f}; "
                    f"observed - expected {row.comparison.text}: {row.comparison.finding}; left out {row.left_out}"
                )
        lines.append("")
    for section in report.sections:
        model = section.model
        if not model.fitted:
            lines.append(f"Model {section.label}: {model.reason} No calibration.")
            continue
        lines.append(
            f"Model {section.label}: n = {model.n}, {model.parameters} parameters, R2 {model.r_squared:.2f}, "
            f"residual SD {model.residual_sd:.2f}"
        )
        for row in section.calibration:
            lines.append(
                f"  tenth {row.decile}: n = {row.n}, expected {row.expected:+.2f}, "
                f"observed {formatting.mean(row.observed)}"
            )
    lines.append("")
    lines.append("Method: " + " ".join(report.method))
    lines.append("Limits: " + " ".join(report.limits))
    return lines
