"""The demo clinic: `needlepoint demo` builds it, deterministically for a seed, and extends it idempotently.

Each app contributes a step (patients first, then visits, outcomes): a function taking a ``DemoContext``.
Steps use bulk inserts, so a 100,000-patient clinic builds in minutes; one audit entry records the load.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from needlepoint.accounts import audit
from needlepoint.atlas import demo as atlas_demo
from needlepoint.outcomes import board_cache
from needlepoint.outcomes import demo as outcomes_demo
from needlepoint.patients import demo as patients_demo
from needlepoint.patients.demo import DEMO_PASSWORD, DEMO_USERS, FULL_HISTORY_PATIENTS
from needlepoint.scheduling import demo as scheduling_demo
from needlepoint.visits import demo as visits_demo

__all__ = ["DEMO_PASSWORD", "FULL_HISTORY_PATIENTS", "DemoContext", "build_demo", "demo_logins"]


@dataclass
class DemoContext:
    """What the demo steps share: the clinic, its people, the random source and a progress callback."""

    seed: int
    target_patients: int
    rng: random.Random
    progress: Callable[[str, int, int], None]
    clinic: Any = None
    memberships: dict[str, Any] = field(default_factory=dict)
    new_patient_ids: list[int] = field(default_factory=list)
    history_patient_ids: list[int] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)


def build_demo(patients: int, seed: int, progress: Callable[[str, int, int], None] | None = None) -> DemoContext:
    """Create or extend the demo clinic to ``patients`` patients; returns what was built."""
    context = DemoContext(
        seed=seed, target_patients=patients, rng=random.Random(seed), progress=progress or (lambda *_: None)
    )
    for step in (patients_demo, atlas_demo, visits_demo, outcomes_demo, scheduling_demo):
        step.build(context)
    _refresh_planner_statistics()
    # The steps insert in bulk, which the dashboard's stored boards do not hear of: announce the load.
    board_cache.clinic_changed(context.clinic.pk)
    with audit.event(audit.Actor(None, context.clinic.pk, "cli", None, "needlepoint demo")):
        audit.record("create", summary=f"demo data: {context.summary}", clinic_id=context.clinic.pk)
    return context


# Every table a step fills in bulk (the small ones too: a planner that takes a table for empty picks bad plans).
LOADED_TABLES = (
    "patients_patient",
    "patients_patientidentifier",
    "patients_screening",
    "patients_consent",
    "patients_episode",
    "atlas_assessment",
    "atlas_palpationfinding",
    "visits_visit",
    "visits_needlingentry",
    "visits_adverseevent",
    "visits_addendum",
    "outcomes_selfreportlink",
    "outcomes_observation",
    "outcomes_rommeasurement",
    "scheduling_appointment",
)


def _refresh_planner_statistics() -> None:
    """After the bulk load, give PostgreSQL's planner the new rows (autovacuum may be off or late).

    With statistics from before the load the planner takes the new clinic for a few rows and filters all of them
    through the clinic index: patient search went from under 1 ms to 12-35 ms at 100,000 patients, and the
    dashboard's lists from about 1 ms to 5-20 ms each beside a synthetic clinic of a million visits.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(LOADED_TABLES))


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, role description) for each demo user, to print for a new user."""
    return [(u["username"], DEMO_PASSWORD, u["describe"]) for u in DEMO_USERS]
