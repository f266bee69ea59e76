"""The outcome sub-commands: list instruments, score answers, write a progress report PDF."""

from __future__ import annotations

import json

from needlepoint.accounts.models import AuditEntry
from needlepoint.cli import main
from tests.outcomes.conftest import SECTION_SCALE, odi


def test_instruments_lists_mcid_and_mdc(capsys) -> None:
    assert main(["instruments"]) == 0
    out = capsys.readouterr().out
    assert "ODI" in out and "MCID 10 points" in out and "lower better" in out
    assert main(["instruments", "--json"]) == 0
    rows = {r["code"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["PSFS"]["direction"] == "higher_is_better" and rows["HIT6"]["wording_shipped"] is False


def test_score_reproduces_the_published_odi_example(capsys) -> None:
    assert main(["score", "ODI", "2", "1", "3", "1", "2", "2", "1", "-", "2", "2"]) == 0
    assert capsys.readouterr().out.startswith("ODI 35.5 percent (moderate disability); 9 items answered")
    assert main(["score", "ODI", "2", "1", "3", "1", "2", "2", "1", "9", "2", "2"]) == 2
    assert f"not on the form's scale ({SECTION_SCALE})" in capsys.readouterr().err
    assert main(["score", "ODI", "x"]) == 2


def test_score_takes_the_values_the_form_prints(capsys) -> None:
    # GROC: +3 as printed is +3 (it used to read 3 as the fourth option, -4)
    for given in (["3"], ["+3"], ["Somewhat better"], ["somewhat  BETTER"]):
        assert main(["score", "GROC", *given]) == 0
        assert capsys.readouterr().out.startswith("GROC 3 points")
    assert main(["score", "GROC", "-7"]) == 0 and capsys.readouterr().out.startswith("GROC -7 points")
    # QuickDASH: eleven "no difficulty" (printed 1) is no disability, 0
    assert main(["score", "QUICKDASH", *["1"] * 11]) == 0
    assert capsys.readouterr().out.startswith("QUICKDASH 0 points")
    # HIT-6: the printed item points add up
    assert main(["score", "HIT6", "6", "8", "10", "11", "13", "13"]) == 0
    assert capsys.readouterr().out.startswith("HIT6 61 points (severe impact)")
    assert main(["score", "HIT6", "Never", "Rarely", "Sometimes", "Very often", "Always", "Always"]) == 0
    assert capsys.readouterr().out.startswith("HIT6 61 points")


def test_score_refuses_option_positions_with_the_printed_scale(capsys) -> None:
    assert main(["score", "GROC", "14"]) == 2
    err = capsys.readouterr().err
    assert "answer 14 is not on the form's scale (-7 = A very great deal worse" in err and "+7 = A very" in err
    assert main(["score", "QUICKDASH", *["0"] * 11]) == 2
    assert "answer 0 is not on the form's scale (1 = No difficulty, 2 = Mild difficulty" in capsys.readouterr().err
    assert main(["score", "HIT6", "0", "1", "2", "3", "4", "4"]) == 2
    assert "(6 = Never, 8 = Rarely, 10 = Sometimes, 11 = Very often, 13 = Always)" in capsys.readouterr().err
    assert main(["score", "GROC", "a lot better"]) == 2
    assert "choose one of the answers (-7 = A very great deal worse" in capsys.readouterr().err
    assert main(["score", "NPRS", "3", "4"]) == 2
    assert "NPRS has 1 item; 2 answers were given" in capsys.readouterr().err


def test_instruments_lists_an_instruments_printed_scale(capsys) -> None:
    assert main(["instruments", "--items", "hit6"]) == 0
    out = capsys.readouterr().out
    assert " 1. Pain: how often headache pain is severe: 6 = Never, 8 = Rarely" in out
    assert main(["instruments", "--items", "QUICKDASH", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)[0]
    assert first["options"][0] == {"value": 1.0, "label": "No difficulty"}
    assert main(["instruments", "--items", "NOPE"]) == 2


def test_progress_report_writes_the_pdf(tmp_path, capsys, clinician, lbp_episode) -> None:
    from needlepoint.outcomes import actions

    actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(3), time_point="baseline")
    target = tmp_path / "report.pdf"
    code = main(["progress-report", "--clinic", "test", "--episode", str(lbp_episode.pk), "-o", str(target)])
    assert code == 0 and target.read_bytes().startswith(b"%PDF")
    assert AuditEntry.objects.filter(action="export", via="cli", object_id=str(lbp_episode.pk)).exists()
    assert main(["progress-report", "--clinic", "other", "--episode", str(lbp_episode.pk), "-o", str(target)]) == 2
