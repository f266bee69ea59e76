"""A longer schemathesis run against the JSON API, for each role: cases run and distinct failures.

Run from the repository root (a fresh SQLite database in a temporary directory; nothing else is touched):

    SECRET_KEY=x .venv/bin/python benchmarks/api_fuzz.py [examples-per-operation, default 60] [seed]

For each role (clinician, front desk, clinic admin) every operation in /api/v1/openapi.json gets up to the given
number of generated requests through the real WSGI application; a failure is a server error (5xx) or a response
outside the schema. The CI test (tests/robustness/test_api_fuzz.py) runs the same with a few examples.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    """Migrate a scratch database, seed one clinic and fuzz every operation as each role; 1 if anything failed."""
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2026
    scratch = tempfile.mkdtemp(prefix="needlepoint-fuzz-")
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(scratch) / 'fuzz.sqlite3'}"
    os.environ.setdefault("NEEDLEPOINT_FAST_HASHER", "true")
    os.environ.setdefault("SECURE_COOKIES", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
    import logging

    import django
    from django.core.management import call_command

    django.setup()
    # Each refused request logs a warning; the run's own summary is what matters here.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    call_command("migrate", verbosity=0)
    from needlepoint.fuzzing import ROLES, fuzz_role, seed_clinic

    tokens = seed_clinic()
    total_failures = 0
    for role in ROLES:
        started = time.perf_counter()
        result = fuzz_role(role, tokens[role], max_examples=examples, seed=seed)
        seconds = time.perf_counter() - started
        total_failures += len(result.failures)
        print(f"{role}: {result.cases} cases in {seconds:.0f} s, {len(result.failures)} distinct failures")
        for label, message in result.failures:
            print(f"  {label}: {message[:600]}")
    print(f"total distinct failures: {total_failures}")
    return 1 if total_failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
