"""The words of ``needlepoint report clinicians`` (registered in cli_report): the risk-adjusted comparison of
clinicians as text or, with ``--json``, as JSON (the same report object as the page; the command line sees every
clinician)."""

from __future__ import annotations

from typing import Any

from needlepoint.insights import formatting


def comparison_json(report: Any) -> dict[str, Any]:
    """The comparison as plain JSON data: every model with its fit, calibration and rows with their words."""
    data: dict[str, Any] = formatting.plain(report)
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
