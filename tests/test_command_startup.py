"""The quick commands (``--help``, ``score``, ``suggest``) start without the heavy libraries: each of these would
cost a clinician a noticeable wait before any output (scipy alone took about two seconds). This checks the import
graph that Python reports (``-X importtime``), not the time, which depends on the machine; the time is measured
by benchmarks/command_startup.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
# Libraries only the functions that compute, draw, print or talk to the database need.
HEAVY = ("scipy", "numpy", "matplotlib", "lifelines", "pandas", "weasyprint", "rich", "django")
QUICK = {
    "help": ["--help"],
    "score": ["score", "ODI", "2", "1", "3", "1", "2", "2", "1", "-", "2", "2"],
    "suggest": ["suggest", "temple-r=6", "posterolateral-neck-r=4"],
}


def imported_modules(arguments: list[str]) -> set[str]:
    """Every module the command imported, as reported by ``python -X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "needlepoint.cli", *arguments],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


@pytest.mark.parametrize("command", QUICK, ids=list(QUICK))
def test_a_quick_command_imports_no_heavy_library(command: str) -> None:
    modules = imported_modules(QUICK[command])
    assert "needlepoint.outcomes.scoring" in modules  # the report was read: the sub-commands were registered
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []
