"""The outcome sub-commands: list instruments, score answers, write a progress report PDF."""

from __future__ import annotations

import json

from needlepoint.accounts.models import AuditEntry
from needlepoint.cli import main
from tests.outcomes.conftest import odi


def test_instruments_lists_mcid_and_mdc(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["instruments"]) == 0
    out = capsys.readouterr().out
    assert "ODI" in out and "MCID 10 points" in out and "lower better" in out
    assert main(["instruments", "--json"]) == 0
    rows = {r["code"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["PSFS"]["direction"] == "higher_is_better" and rows["HIT6"]["wording_shipped"] is False


def test_score_reproduces_the_published_odi_example(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["score", "ODI", "2", "1", "3", "1", "2", "2", "1", "-", "2", "2"]) == 0
    assert capsys.readouterr().out.startswith("ODI 35.5 percent (moderate disability); 9 items answered")
    assert main(["score", "ODI", "2", "1", "3", "1", "2", "2", "1", "9", "2", "2"]) == 2
    assert "not one of the options (0 to 5)" in capsys.readouterr().err
    assert main(["score", "ODI", "x"]) == 2


def test_progress_report_writes_the_pdf(tmp_path, capsys, clinician, lbp_episode) -> None:  # type: ignore[no-untyped-def]
    from needlepoint.outcomes import actions

    actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(3), time_point="baseline")
    target = tmp_path / "report.pdf"
    code = main(["progress-report", "--clinic", "test", "--episode", str(lbp_episode.pk), "-o", str(target)])
    assert code == 0 and target.read_bytes().startswith(b"%PDF")
    assert AuditEntry.objects.filter(action="export", via="cli", object_id=str(lbp_episode.pk)).exists()
    assert main(["progress-report", "--clinic", "other", "--episode", str(lbp_episode.pk), "-o", str(target)]) == 2
