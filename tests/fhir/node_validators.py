"""Running the independent FHIR validators that live in npm packages (FHIR.js, Medplum) from the tests: where
node finds the packages, and one run of a validator script over a list of resources."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any


@cache
def node_path(*packages: str) -> str | None:
    """The NODE_PATH under which every one of ``packages`` loads (NEEDLEPOINT_FHIRJS_NODE_PATH first, then npm's
    global root), or None (no node, or a package missing)."""
    node = shutil.which("node")
    if node is None:
        return None
    candidates = [os.environ.get("NEEDLEPOINT_FHIRJS_NODE_PATH", "")]
    npm = shutil.which("npm")
    if npm is not None:
        found = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, timeout=60, check=False)
        candidates.append(found.stdout.strip())
    resolve = "; ".join(f"require.resolve('{package}')" for package in packages)
    for candidate in filter(None, candidates):
        check = subprocess.run(
            [node, "-e", resolve],
            env={**os.environ, "NODE_PATH": candidate},
            capture_output=True,
            timeout=60,
            check=False,
        )
        if check.returncode == 0:
            return candidate
    return None


def run_validator(
    script: Path, resources: list[dict[str, Any]], node_modules: str, tmp_path: Path, *args: str
) -> list[dict[str, Any]]:
    """The JSON the validator ``script`` prints for ``resources`` (written to a file it reads)."""
    file = tmp_path / "resources.json"
    file.write_text(json.dumps(resources), encoding="utf-8")
    done = subprocess.run(
        ["node", str(script), str(file), *args],
        env={**os.environ, "NODE_PATH": node_modules},
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result
