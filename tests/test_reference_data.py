"""The reference data in tests/data is complete and unchanged: every file listed in a folder's upstream SHA256SUMS
is there (plain or gzip-compressed) with the upstream checksum of its content, and each folder keeps its licence."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
FOLDERS = ["fhir-r4-examples", "synthea", "trial-ashar2022-backpain", "us-core-6.1.0"]


def listed(folder: str) -> list[tuple[str, str]]:
    """(checksum, relative path) of each file in a folder's SHA256SUMS."""
    lines = (DATA / folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return [(line.split()[0], line.split()[1].removeprefix("./")) for line in lines if line.strip()]


def content(path: Path) -> bytes:
    """A file's upstream bytes: the file itself, or its ``.gz`` copy decompressed."""
    if path.exists():
        return path.read_bytes()
    return gzip.decompress(path.with_name(path.name + ".gz").read_bytes())


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_listed_file_is_there_unchanged(folder: str) -> None:
    entries = listed(folder)
    assert entries
    for checksum, name in entries:
        assert hashlib.sha256(content(DATA / folder / name)).hexdigest() == checksum, name


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_folder_keeps_its_licence(folder: str) -> None:
    assert list((DATA / folder).glob("LICENSE*")), folder


def test_the_counts_the_tests_rely_on() -> None:
    """A missing file would otherwise just shrink a parametrised test."""
    examples = DATA / "fhir-r4-examples"
    assert len(list(examples.glob("*-*.json"))) == 73
    assert len(list((examples / "structuredefinitions-r4").glob("StructureDefinition-*.json.gz"))) == 13
    assert len(list((DATA / "synthea").glob("*_*.json.gz"))) == 12
    assert len(list((DATA / "us-core-6.1.0").glob("StructureDefinition-us-core-*.json.gz"))) == 16
