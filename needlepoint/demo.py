"""The demo clinic: `needlepoint demo` builds it, deterministically for a seed, and extends it idempotently.

Each app contributes a step (patients first, then visits, outcomes): a function taking a ``DemoContext``.
Steps use bulk inserts, so a 100,000-patient clinic builds in minutes; one audit entry records the load.
"""

from __future__ import annotations

import importlib
import importlib.util
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEMO_PASSWORD = "needlepoint-demo"
# Patients who get a full clinical history (assessments, visits, outcomes). A demo is for clicking through;
# beyond this many, patients get intake records only, and `needlepoint synth` builds visit volume for analytics.
FULL_HISTORY_PATIENTS = 3000
DEMO_CLINIC_SLUG = "demo"


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


DEMO_STEPS = (
    "needlepoint.patients.demo",
    "needlepoint.atlas.demo",
    "needlepoint.visits.demo",
    "needlepoint.outcomes.demo",
    "needlepoint.scheduling.demo",
)


def build_demo(patients: int, seed: int, progress: Callable[[str, int, int], None] | None = None) -> DemoContext:
    """Create or extend the demo clinic to ``patients`` patients; returns what was built."""
    from needlepoint.accounts import audit

    context = DemoContext(
        seed=seed, target_patients=patients, rng=random.Random(seed), progress=progress or (lambda *_: None)
    )
    for module_name in DEMO_STEPS:
        if importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).build(context)
    with audit.acting_as(audit.Actor(None, context.clinic.pk, "cli", None, "needlepoint demo")):
        audit.record("create", summary=f"demo data: {context.summary}", clinic_id=context.clinic.pk)
    return context


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, role description) for each demo user, to print for a new user."""
    from needlepoint.patients.demo import DEMO_USERS

    return [(u["username"], DEMO_PASSWORD, u["describe"]) for u in DEMO_USERS]
