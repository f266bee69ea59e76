"""A check that runs with every test: each write of patient data that the product makes is recorded by the action
that makes it (``audit.wrote`` beside the save), since no save signal writes audit entries any more.

It watches every save of a model with ``audit_trail`` while the tests run. For a save made by product code (not by
a test's own set-up), it finds the product function that called ``save()`` or ``objects.create()`` and checks
that the function records it: at least one ``audit.wrote(`` per distinct save line the tests reached in it. The
demo and synthetic-data builders, which write in bulk outside any action, are the only writers exempt.

A new action that saves a patient's record without recording it fails the first test that runs it, naming the
function and its line.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import pytest
from django.db.models import Model
from django.db.models.signals import post_save

import needlepoint

PACKAGE = Path(needlepoint.__file__).resolve().parent
# Builders of demonstration and synthetic data: they write in bulk, outside the actions, and leave one entry
# for the whole build ("demo data: ...").
EXEMPT = {PACKAGE / "visits" / "demo.py", PACKAGE / "patients" / "demo.py", PACKAGE / "insights" / "synthetic.py"}
RECORDS = "audit.wrote("

_save_lines: dict[CodeType, set[int]] = {}
_unrecorded: list[str] = []


def _product_frame(frame: FrameType | None) -> FrameType | None:
    """The innermost frame of product code that led to the save: not Django's, not a model's own ``save``."""
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(PACKAGE) and path.name != "models.py":
            return frame
        if "tests" in path.parts and not path.is_relative_to(PACKAGE):
            return None  # a test's own set-up saved it directly
        frame = frame.f_back
    return None


def _function_code(frame: FrameType) -> CodeType:
    """The code of the function a frame belongs to (a list comprehension's own frame names its function's)."""
    if frame.f_code.co_name.startswith("<") and frame.f_back is not None:
        return frame.f_back.f_code
    return frame.f_code


def _on_save(sender: type[Model], raw: bool = False, **_: Any) -> None:
    if raw or not getattr(sender, "audit_trail", False):
        return
    frame = _product_frame(sys._getframe(1))
    if frame is None or Path(frame.f_code.co_filename) in EXEMPT:
        return
    problem = unrecorded_save(_function_code(frame), frame.f_lineno, sender._meta.label)
    if problem:
        _unrecorded.append(problem)


def unrecorded_save(code: CodeType, line: int, label: str) -> str:
    """What is wrong with a save of ``label`` at ``line`` of the function ``code``: fewer ``audit.wrote`` calls
    in the function than the save lines seen in it so far ("" when each is recorded, or the line was seen)."""
    lines = _save_lines.setdefault(code, set())
    if line in lines:
        return ""
    lines.add(line)
    source = inspect.getsource(code)
    if source.count(RECORDS) >= len(lines):
        return ""
    return (
        f"{code.co_filename}:{line} ({code.co_name}) saves a {label} without recording it: call "
        f"audit.wrote(...) beside each save ({len(lines)} save(s), {source.count(RECORDS)} audit.wrote call(s))"
    )


@pytest.fixture(autouse=True)
def every_write_is_recorded_by_its_action() -> Iterator[None]:
    """Fail the test whose run reached a save of patient data that its action does not record."""
    post_save.connect(_on_save, dispatch_uid="tests_audit_guard")
    found = len(_unrecorded)
    yield
    if len(_unrecorded) > found:
        pytest.fail("\n".join(_unrecorded[found:]))
