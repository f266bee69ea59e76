"""The insights sub-commands of ``needlepoint``: ``synth`` (a synthetic clinic group), ``report claims``,
``report responders`` and ``import outcomes``. Each prints the same figures as the evidence page."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], setup_django: Callable[..., None]
) -> None:
    """Add ``synth``, ``report`` and ``import`` to the ``needlepoint`` command."""
    p = subparsers.add_parser("synth", help="generate a synthetic group of clinics for the evidence report")
    p.add_argument("--clinics", type=int, default=3, help="number of clinics (default 3)")
    p.add_argument("--episodes", type=int, default=10_000, help="episodes of care in all clinics (default 10,000)")
    p.add_argument("--seed", type=int, default=1, help="random seed: the same seed and end date build the same data")
    p.add_argument("--end-date", type=_date, default=None, help="last day of the synthetic history (default today)")
    p.add_argument(
        "--needled-share", type=float, default=0.75, help="share of episodes treated with needling (default 0.75)"
    )
    p.set_defaults(func=lambda args: _synth(args, setup_django))

    from needlepoint.insights import cli_report

    cli_report.register(subparsers, setup_django)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _synth(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    setup_django(local=True)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from needlepoint.accounts import audit
    from needlepoint.insights.synthetic import SYNTHETIC_ADMIN_PASSWORD, SyntheticError, generate

    update, stop = progress_bar()
    try:
        with audit.event(audit.Actor(None, None, "cli", None, "needlepoint synth")):
            summary = generate(
                args.clinics,
                args.episodes,
                args.seed,
                end_date=args.end_date,
                needled_share=args.needled_share,
                progress=update,
            )
            audit.record("create", summary=f"synthetic clinics {', '.join(summary.clinics)}: {summary.rows}")
    except SyntheticError as exc:
        stop()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop()
    print(f"Synthetic clinics: {', '.join(summary.clinics)} (made-up data, never evidence).")
    for table, count in summary.rows.items():
        print(f"  {table:<18} {count:>12,}")
    print(
        f"{summary.total_rows:,} rows in {summary.seconds:.1f} s: {summary.rate('visits'):,.0f} visits/s, "
        f"{summary.total_rows / summary.seconds:,.0f} rows/s."
    )
    print(f"Clinic admin logins (password {SYNTHETIC_ADMIN_PASSWORD}): {', '.join(summary.logins)}")
    return 0


def progress_bar() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """A rich progress bar: (update(label, done, total), stop())."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False
    )
    tasks: dict[str, TaskID] = {}
    progress.start()

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)

    return update, progress.stop
