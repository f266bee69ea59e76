"""The ``needlepoint reminders send`` sub-command: e-mail each due appointment reminder once (run from cron)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from needlepoint.grammar import plural


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], setup_django: Callable[..., None]
) -> None:
    """Add ``reminders send`` to the ``needlepoint`` command."""
    p = subparsers.add_parser("reminders", help="appointment reminders by e-mail")
    sub = p.add_subparsers(dest="reminders_command", required=True)
    send = sub.add_parser(
        "send",
        help="e-mail every due reminder once (cron, e.g. every 15 minutes)",
        description="E-mail a reminder for each booked appointment within its clinic's reminder window "
        "(data/settings.json, 24 hours by default) that has not had one. Patients who asked for no reminders "
        "or have no e-mail address are skipped and listed. Mail goes through Django's mail settings: the "
        "console unless EMAIL_HOST is set.",
    )
    send.add_argument("--json", action="store_true", help="print one JSON object per appointment")
    send.set_defaults(func=lambda args: cmd_send(args, setup_django))


def cmd_send(args: argparse.Namespace, setup_django: Callable[..., None]) -> int:
    """Send the due reminders and print what happened to each; exit status 1 if any send failed."""
    setup_django()
    from django.utils import timezone

    from needlepoint.scheduling.actions import send_due_reminders

    outcomes = send_due_reminders()
    failed = 0
    for o in outcomes:
        failed += o.detail.startswith("sending failed")
        if args.json:
            print(
                json.dumps(
                    {
                        "appointment": o.appointment_id,
                        "clinic": o.clinic,
                        "starts_at": o.starts_at.isoformat(),
                        "sent": o.sent,
                        "detail": o.detail,
                    }
                )
            )
        else:
            print(f"{timezone.localtime(o.starts_at):%Y-%m-%d %H:%M} appointment {o.appointment_id}: {o.detail}")
    if not args.json:
        sent = sum(o.sent for o in outcomes)
        print(f"{plural(sent, 'reminder')} sent, {len(outcomes) - sent - failed} skipped, {failed} failed.")
    return 1 if failed else 0
