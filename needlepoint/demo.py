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
    _refresh_planner_statistics(("patients", "atlas", "visits", "outcomes", "scheduling"))
    # The steps insert in bulk, which the dashboard's stored boards do not hear of: announce the load.
    board_cache.clinic_changed(context.clinic.pk)
    with audit.event(audit.Actor(None, context.clinic.pk, "cli", None, "needlepoint demo")):
        audit.record("create", summary=f"demo data: {context.summary}", clinic_id=context.clinic.pk)
    return context


def _refresh_planner_statistics(app_labels: tuple[str, ...]) -> None:
    """After the bulk load, give PostgreSQL's planner the new rows of every table the steps filled (autovacuum
    may be off or late; the patients step refreshes its own tables early, for the steps after it).

    Built beside a clinic whose rows the planner already knew (a benchmark's million synthetic visits), the demo
    clinic was taken for having no visits, scores or adverse events, and each patient's records were found by
    filtering the whole clinic's through the clinic index: 4-6 ms a list in FHIR $everything instead of under 1.
    """
    from django.apps import apps

    if connection.vendor != "postgresql":
        return
    tables = [
        model._meta.db_table
        for label in app_labels
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed and not model._meta.proxy
    ]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, role description) for each demo user, to print for a new user."""
    return [(u["username"], DEMO_PASSWORD, u["describe"]) for u in DEMO_USERS]
