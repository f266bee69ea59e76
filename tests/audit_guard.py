"""A check that runs with every test: each write of patient data that the product makes is recorded by the action
that makes it (``audit.wrote``).

The audit trail's own safety net (``needlepoint.accounts.audit``) notes every save of a model with ``audit_trail``
and takes it off when the action calls ``wrote`` for that record. In the tests (AUDIT_UNRECORDED_WRITES=raise) a
save still unrecorded when its event ends (a request, a command, a patient's link) raises. Outside any event (an
action called directly, as most unit tests do) the net settles when the transaction commits, which a test's
transaction never does; so after each test this guard takes what is left and fails the test if product code made
any of it. Saves made by a test's own set-up (the ORM called from tests/) are not the product's and are ignored.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from django.db.models import Model
from django.db.models.signals import post_save

import needlepoint
from needlepoint.accounts import audit

PACKAGE = Path(needlepoint.__file__).resolve().parent

_made_by_product: dict[tuple[str, str], str] = {}


def product_site(frame: FrameType | None) -> str:
    """Where product code saved the record ("file:line function"), or "" when a test's own set-up did."""
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(PACKAGE) and path.name != "models.py":
            return f"{path.relative_to(PACKAGE.parent)}:{frame.f_lineno} {frame.f_code.co_name}"
        if "tests" in path.parts and not path.is_relative_to(PACKAGE):
            return ""
        frame = frame.f_back
    return ""


def _note(sender: type[Model], instance: Model, raw: bool = False, **_: Any) -> None:
    if raw or not getattr(sender, "audit_trail", False) or audit.in_event():
        return  # in an event the safety net itself settles the save when the event ends
    # The latest save of a record outside events says who made it: a test's own save after the product's is the
    # test's.
    _made_by_product[(sender._meta.label, str(instance.pk))] = product_site(sys._getframe(1))


def unrecorded_by_product() -> list[str]:
    """The saves product code made outside any event since the last call that no action recorded, and forget them."""
    left = audit.take_unrecorded_writes()
    found = [f"{label} #{pk} saved at {site}" for label, pk in left if (site := _made_by_product.get((label, pk)))]
    _made_by_product.clear()
    return found


@pytest.fixture(autouse=True)
def every_write_is_recorded_by_its_action() -> Iterator[None]:
    """Fail the test whose run saved patient data through product code that did not record it."""
    post_save.connect(_note, dispatch_uid="tests_audit_guard")
    unrecorded_by_product()  # what an earlier test left behind is not this test's
    yield
    found = unrecorded_by_product()
    if found:
        pytest.fail("saved without audit.wrote by its action: " + "; ".join(found))
