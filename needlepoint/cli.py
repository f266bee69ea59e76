"""The ``needlepoint`` command: run the product, build the demo clinic, manage users, and the atlas,
report and import tools. ``needlepoint --help`` lists every sub-command."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")


def _setup_django(local: bool = False) -> None:
    if local:
        # The local server on a clinician's laptop: development settings unless the environment says otherwise.
        os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()


def _migrate(verbosity: int = 1) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply database migrations, as the database owner when DATABASE_URL_OWNER or --database-url is given."""
    from needlepoint.accounts.commands import use_owner_database

    use_owner_database(args.database_url)
    _setup_django(local=True)
    _migrate()
    return 0


def _progress_printer() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    tasks: dict[str, TaskID] = {}
    progress.start()

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)

    return update, progress.stop


def _build_demo(patients: int, seed: int) -> None:
    from needlepoint.demo import build_demo

    update, stop = _progress_printer()
    try:
        context = build_demo(patients=patients, seed=seed, progress=update)
    finally:
        stop()
    print(f"Demo clinic '{context.clinic.name}': " + ", ".join(f"{k} {v}" for k, v in context.summary.items()))


def cmd_demo(args: argparse.Namespace) -> int:
    """Build or extend the demo clinic (idempotent)."""
    _setup_django(local=True)
    _migrate(verbosity=0)
    _build_demo(args.patients, args.seed)
    _print_logins()
    return 0


def _print_logins() -> None:
    from needlepoint.demo import demo_logins

    print("\nDemo logins (username / password):")
    for username, password, role in demo_logins():
        print(f"  {username:<8} / {password}   {role}")
    print("The demo clinic asks for no second factor; a real clinic requires an authenticator app of its admins.")


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve Needlepoint on http://HOST:PORT (a local server; use gunicorn in production)."""
    _setup_django(local=True)
    from django.core.management import call_command

    print(f"\nNeedlepoint is running at http://{args.host}:{args.port}/  (Ctrl+C stops it)\n", flush=True)
    call_command("runserver", f"{args.host}:{args.port}", use_reloader=False, insecure_serving=True)
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    """Migrate, load the demo clinic if the database is empty, print the logins, and serve."""
    _setup_django(local=True)
    _migrate(verbosity=0)
    from needlepoint.patients.models import Patient

    if not Patient.objects.exists():
        print("Empty database: building the demo clinic…")
        _build_demo(args.patients, args.seed)
    _print_logins()
    return cmd_serve(args)


def cmd_createuser(args: argparse.Namespace) -> int:
    """Create a user with one role in a clinic (the clinic is created if new)."""
    _setup_django(local=True)
    from django.core.exceptions import ValidationError

    from needlepoint.accounts.actions import create_user
    from needlepoint.accounts.models import Clinic

    clinic, created = Clinic.objects.get_or_create(slug=args.clinic, defaults={"name": args.clinic_name or args.clinic})
    if created:
        print(f"Created clinic {clinic.name} ({clinic.slug}).")
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
    try:
        membership = create_user(
            clinic,
            args.username,
            password,
            args.role,
            first_name=args.first_name,
            last_name=args.last_name,
            profession=args.profession or "",
            licence_number=args.licence or "",
        )
    except ValidationError as exc:
        for message in exc.messages:
            print(f"error: {message}", file=sys.stderr)
        return 2
    print(f"Created {membership}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="needlepoint", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("start", help="migrate, load the demo if empty, and serve")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--patients", type=int, default=80)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_start)

    p = sub.add_parser("serve", help="serve on http://HOST:PORT")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="build or extend the demo clinic")
    p.add_argument("--patients", type=int, default=80, help="patients in the demo clinic (default 80)")
    p.add_argument("--seed", type=int, default=1, help="random seed: the same seed builds the same clinic")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("--database-url", help="the owner's connection (default: DATABASE_URL_OWNER, else DATABASE_URL)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("createuser", help="create a user with a role in a clinic")
    p.add_argument("--clinic", required=True, help="clinic slug (created if new)")
    p.add_argument("--clinic-name", default="")
    p.add_argument("--username", required=True)
    p.add_argument("--role", required=True, choices=["clinician", "front_desk", "clinic_admin"])
    p.add_argument("--profession", choices=["physical_therapist", "chiropractor"])
    p.add_argument("--licence", help="licence number (clinicians)")
    p.add_argument("--first-name", default="")
    p.add_argument("--last-name", default="")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(func=cmd_createuser)

    # Each app's sub-commands (``register(subparsers, setup_django)``). Their modules import nothing heavy at
    # the top, so that --help and the quick commands start at once (tests/test_command_startup.py).
    from needlepoint.accounts import commands as accounts_commands
    from needlepoint.atlas import commands as atlas_commands
    from needlepoint.fhir import commands as fhir_commands
    from needlepoint.insights import commands as insights_commands
    from needlepoint.operations import commands as operations_commands
    from needlepoint.outcomes import commands as outcomes_commands
    from needlepoint.scheduling import commands as scheduling_commands

    for app in (
        accounts_commands,
        atlas_commands,
        fhir_commands,
        insights_commands,
        operations_commands,
        outcomes_commands,
        scheduling_commands,
    ):
        app.register(sub, _setup_django)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``needlepoint`` command."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
