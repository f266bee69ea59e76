"""A visit write and another request's audited read at the same moment on PostgreSQL: neither deadlocks.

A write locks its record's row, then appends its audit entry under the audit chain's lock. Another request that
holds that lock checks its entry's foreign key to the clinic at COMMIT (FOR KEY SHARE). If the write's row lock
also covered the clinic's row with a plain FOR UPDATE, the two would wait for each other (PostgreSQL: deadlock
detected, a server error for one of them) — found by benchmarks/clinic_load.py with 16 clinicians at once.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from needlepoint.accounts import audit
from needlepoint.visits import actions

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="row and advisory locks of PostgreSQL")


@pytest.mark.postgres
@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_locked_visit_and_an_audited_read_elsewhere_both_commit(clinician, visit) -> None:
    rows_locked, chain_locked = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def write() -> None:
        """As a request that edits the visit: lock its row, then record the write in the audit trail."""
        try:
            actor = audit.Actor(clinician.user_id, clinician.clinic_id, "web", None, "alice")
            with audit.event(actor), transaction.atomic():
                locked = actions._locked_visit(clinician, visit.pk)
                rows_locked.set()
                chain_locked.wait(10)
                audit.record("update", locked, summary="visit details")
            outcomes["write"] = "committed"
        except Exception as exc:  # the outcome is what the test compares
            outcomes["write"] = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    def read() -> None:
        """As another request: append its audit entry (taking the chain's lock), then commit."""
        try:
            rows_locked.wait(10)
            with transaction.atomic():
                audit.record("read", summary="dashboard", clinic_id=clinician.clinic_id)
                chain_locked.set()
            outcomes["read"] = "committed"
        except Exception as exc:
            chain_locked.set()
            outcomes["read"] = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert outcomes == {"write": "committed", "read": "committed"}
