"""Two submissions through one link at the same moment: exactly one set of answers is stored."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from needlepoint.outcomes import actions
from needlepoint.outcomes.models import Observation, SelfReportLink
from tests.outcomes.conftest import odi

PSFS = {"activity_1": 4, "activity_2": 5, "activity_3": 6}


@pytest.mark.django_db(transaction=True)
def test_only_one_of_two_simultaneous_submissions_is_stored(clinician, lbp_episode, clinic_wording) -> None:
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["TEST"]["NAME"] or ":memory:"):
        # Shared-cache in-memory SQLite reports "table is locked" at once instead of waiting; a clinic's SQLite
        # file (WAL, immediate transactions, busy timeout) serialises the two writers as PostgreSQL does.
        pytest.skip("needs PostgreSQL or an SQLite file: the in-memory test database cannot wait for a lock")
    issued = actions.create_self_report_link(clinician, lbp_episode, time_point="reassessment")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(level: int) -> None:
        try:
            start.wait()
            actions.submit_self_report(issued.token, {"ODI": odi(level), "PSFS": PSFS}, pain=3)
            outcomes.append("stored")
        except actions.LinkRefused as refused:
            outcomes.append(refused.reason)
        except ValidationError as exc:  # pragma: no cover - would mean the answers were judged wrong
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(level,)) for level in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["stored", "used"]
    assert Observation.objects.filter(self_report_link=issued.link).count() == 3
    assert SelfReportLink.objects.get().used_at is not None
