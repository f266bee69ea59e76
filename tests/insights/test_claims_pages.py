"""The claims page, its PDF, the API and the report commands: access, filters, plain-word verdicts with n and
intervals, small numbers withheld, and the same figures everywhere."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest
from django.utils import timezone
from django.utils.html import escape
from pypdf import PdfReader

from needlepoint.accounts.models import AuditEntry
from needlepoint.cli import main
from needlepoint.insights.filters import parse_filters
from needlepoint.insights.pdf import claims_document
from needlepoint.insights.report import claims_report
from needlepoint.insights.summaries import refresh
from tests.conftest import client_for
from tests.insights.evidence_data import episode, observation, rom, visit


def build(clinic, clinician, colleague, count: int = 24) -> None:
    """Needled neck-pain episodes by ``clinician`` that mostly improve, two by ``colleague``, one not needled."""
    for index in range(count):
        ep = episode(
            clinic, clinician, opened=index, discharged=index + 30, reason="goals_met" if index % 3 else "plateau"
        )
        visit(
            ep,
            clinician,
            index,
            7,
            4,
            needling=[("upper-trapezius", "pistoning")],
            events=[("bruising", "mild")] if index % 4 == 0 else [],
        )
        visit(ep, clinician, index + 7, 5, 3, needling=[("levator-scapulae", "static")])
        visit(ep, clinician, index + 14, 4, 3, needling=[("levator-scapulae", "static")])
        observation(ep, clinician, "NPRS", 7, index, "baseline")
        observation(ep, clinician, "NPRS", 2 if index % 5 else 6, index + 30, "discharge")
        rom(ep, clinician, 50, index, "baseline")
        rom(ep, clinician, 70, index + 30, "discharge")
    for index in range(2):
        ep = episode(clinic, colleague, opened=index, discharged=index + 20, reason="goals_met")
        visit(ep, colleague, index, 6, 5, needling=[("upper-trapezius", "rotation")])
        observation(ep, colleague, "NPRS", 6, index, "baseline")
        observation(ep, colleague, "NPRS", 5, index + 20, "discharge")
    other = episode(clinic, clinician, opened=3, discharged=40, reason="goals_met")
    visit(other, clinician, 3, 6, 5)


@pytest.fixture
def evidence(clinic, clinician, colleague):
    build(clinic, clinician, colleague)
    return clinic


def test_front_desk_may_not_open_the_evidence_page(evidence, front_desk):
    assert client_for(front_desk).get("/insights/").status_code == 403
    assert client_for(front_desk).get("/insights/claims.pdf").status_code == 403


def test_the_page_states_each_claim_in_plain_words_with_n_and_intervals(evidence, clinic_admin):
    response = client_for(clinic_admin).get("/insights/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-claim="relief" data-status="consistent"' in html
    # 24 of Alice's episodes came to visit 3 with pain 3 points below baseline; Bob's two never came back.
    assert "Consistent with the claim for Neck pain in this clinic: 92% (24 of 26; 95% CI 76% to 98%)" in html
    assert "reported pain at least 2 points or 30% below baseline before visit 3" in html
    assert 'data-claim="rom" data-status="consistent"' in html
    assert "upported" not in html.split('id="filters"')[1]  # "supported" is not a word for clinic records
    # The reason the records cannot show cause and effect sits beside each verdict, outside any closed fold.
    summary_line = html[
        html.index('<span class="verdict-line">') : html.index("</summary>", html.index("verdict-line"))
    ]
    assert summary_line.count("cannot show cause") == 2 and "not randomised" in summary_line
    assert html.count("Why this cannot show cause and effect") == 3
    assert "Published trial evidence:" in html and "Navarro-Santana" in html
    assert "95% CI" in html and "n = " in html
    # Only one episode without needling: far too few to compare recovery against.
    assert 'data-claim="recovery" data-status="not_enough_data"' in html
    assert "were not randomised" in html
    assert "<svg" in html and "Brady" in html and "Method and limits" in html
    assert AuditEntry.objects.filter(object_type="insights.ClaimsReport", action="read").exists()


def test_small_groups_are_withheld_from_the_clinician_breakdown(evidence, clinic_admin, colleague):
    report = claims_report(evidence, *parse_filters(evidence.pk, {}))
    rows = {row.label: row for row in report.clinicians}
    assert rows["Bob"].episode_suppression.suppressed and rows["Bob"].responders is None
    assert rows["Bob"].episode_suppression.marker == "n < 10"
    # With only two clinicians, the larger group is withheld too, or Bob's figures follow from the total.
    assert rows["Alice"].episode_suppression.suppressed
    shown = claims_report(evidence, *parse_filters(evidence.pk, {"min_n": "2"}))
    assert not any(row.episode_suppression.suppressed for row in shown.clinicians)
    html = client_for(clinic_admin).get("/insights/?min_n=2").content.decode()
    table = html[html.index('id="clinicians"') : html.index("</table>", html.index('id="clinicians"'))]
    assert "Bob" in table and "n &lt;" not in table


def test_not_enough_data_is_said_when_it_is_the_truth(clinic, clinician, clinic_admin):
    ep = episode(clinic, clinician, opened=0, discharged=20, reason="goals_met")
    visit(ep, clinician, 0, 7, 2, needling=[("upper-trapezius", "static")])
    html = client_for(clinic_admin).get("/insights/").content.decode()
    assert html.count('data-status="not_enough_data"') == 3
    assert "fewer than the 20 needed" in html
    empty = client_for(clinic_admin).get("/insights/?condition=migraine").content.decode()
    assert "Not enough data: no episode of care matches these filters" in empty


def test_filters_are_get_parameters_and_bad_ones_change_nothing(evidence, clinic_admin):
    client = client_for(clinic_admin)
    response = client.get("/insights/?condition=neck_pain&technique=static&missing=completers&rule=percent:30")
    assert response.status_code == 200
    assert 'option value="neck_pain" selected' in response.content.decode()
    bad = client.get("/insights/?condition=knees&date_from=yesterday&rule=sometimes")
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "Unknown condition" in html and "is not a date" in html and "Unknown responder rule" in html
    assert 'data-claim="relief"' not in html


def test_the_printed_summary_time_is_on_the_clinic_s_clock(evidence, settings):
    """The printed report names the time its summary is current to as every page does: the clinic's, zone named."""
    settings.TIME_ZONE = "America/New_York"
    refresh(evidence, full=True)
    filters, options = parse_filters(evidence.pk, {})
    report = claims_report(evidence, filters, options, source="summary", clinician_names={})
    assert report.summary_as_of is not None
    local = timezone.localtime(report.summary_as_of)
    footer = claims_document(report, evidence)["footer"]
    assert f"(summary of {local:%Y-%m-%d %H:%M} {local:%Z})" in str(footer)
    assert local.strftime("%Z") in ("EST", "EDT")


def test_the_pdf_has_the_same_report(evidence, clinic_admin):
    response = client_for(clinic_admin).get("/insights/claims.pdf?condition=neck_pain")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="claims-report-')
    assert response.content.startswith(b"%PDF") and len(response.content) > 10_000
    # The same words as the page, drawn by the one path every printed document takes (WeasyPrint), with the
    # plots embedded and the clinic's letterhead on top.
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert "Consistent with the claim for Neck pain in this clinic: 92% (24 of 26; 95% CI 76% to 98%)" in text
    assert "cannot show cause and effect" in text and "Navarro-Santana" in text
    assert "Published trial evidence:" in text and "Limits" in text
    assert clinic_admin.clinic.name in text
    assert AuditEntry.objects.filter(object_type="insights.ClaimsReport", action="export").exists()
    assert client_for(clinic_admin).get("/insights/claims.pdf?min_n=0").status_code == 400


def test_another_clinic_sees_none_of_these_episodes(evidence, outsider):
    html = client_for(outsider).get("/insights/").content.decode()
    assert "0 episodes of care" in html


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def test_the_command_line_prints_the_same_figures_as_the_page(evidence, clinic_admin):
    code, out, _ = run_cli(["report", "claims", "--clinic", evidence.slug, "--condition", "neck_pain", "--json"])
    assert code == 0
    printed = json.loads(out)
    report = claims_report(evidence, *parse_filters(evidence.pk, {"condition": "neck_pain"}))
    assert printed["episodes"] == report.episodes
    relief = printed["verdicts"][0]["relief"]
    assert relief["status"] == report.verdicts[0].relief.status
    assert relief["headline"] == report.verdicts[0].relief.headline
    page = client_for(clinic_admin).get("/insights/?condition=neck_pain").content.decode()
    assert escape(relief["headline"]) in page

    code, text, _ = run_cli(["report", "claims", "--clinic", evidence.slug, "--condition", "neck_pain"])
    assert code == 0 and report.verdicts[0].relief.headline in text

    code, _, err = run_cli(["report", "claims", "--clinic", evidence.slug, "--missing", "sometimes"])
    assert code == 2 and "Unknown missing follow-up policy" in err


def test_responder_command_and_api(evidence, clinic_admin):
    code, out, _ = run_cli([
        "report", "responders", "--clinic", evidence.slug, "--instrument", "NPRS", "--rule", "percent:30",
        "--missing", "completers",
    ])  # fmt: skip
    assert code == 0 and "responders" in out and "Completers only" in out
    client = client_for(clinic_admin)
    api = client.get("/api/v1/insights/responders", {"instrument": "NPRS", "by": "clinician", "missing": "itt"})
    assert api.status_code == 200
    assert {row["group"] for row in api.json()["rows"]} == {"Alice", "Bob"}
    claims = client.get("/api/v1/insights/claims", {"condition": "neck_pain"})
    assert claims.status_code == 200 and claims.json()["verdicts"][0]["condition"] == "neck_pain"
    assert client.get("/api/v1/insights/claims", {"rule": "percent:-3"}).status_code == 400
    assert client.get("/api/v1/insights/responders", {"instrument": "XYZ"}).status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"min_n": "1"},
        {"min_n": "1", "condition": "neck_pain"},
        {"min_n": "1", "clinician": "alice"},
        {"min_n": "1", "date_from": "2025-01-01", "date_to": "2025-12-31"},
        {"min_n": "1", "muscle": "upper-trapezius"},
        {"min_n": "1", "technique": "static"},
        {"min_n": "2", "missing": "completers"},
        {"min_n": "1", "rule": "percent:30"},
    ],
)
def test_four_relieved_episodes_are_never_judged_whatever_the_filter(clinic, clinician, clinic_admin, params):
    """The issue's case: --min-n 1 turned 4 of 4 episodes into a verdict. The claims' own minimum (20) holds."""
    from needlepoint.insights.summaries import refresh

    for index in range(4):
        ep = episode(clinic, clinician, opened=index, discharged=index + 30, reason="goals_met")
        for day, before in ((0, 8), (7, 4), (14, 3)):
            visit(ep, clinician, index + day, before, before - 2, needling=[("upper-trapezius", "static")])
        rom(ep, clinician, 40, index, "baseline")
        rom(ep, clinician, 70, index + 30, "discharge")
    filters, options = parse_filters(clinic.pk, params)
    refresh(clinic)
    for source in ["live", "summary"]:
        report = claims_report(clinic, filters, options, source=source)
        assert report.claims_minimum_n == 20
        (condition,) = report.verdicts
        assert [verdict.status for verdict in condition.verdicts] == ["not_enough_data"] * 3
        assert "fewer than the 20 needed" in condition.relief.headline
        assert condition.relief.details[0].startswith("Before visit 3, after two treatments (pre-specified): 100% (4")
    args = ["report", "claims", "--clinic", clinic.slug, "--json"]
    for key, value in params.items():
        args += [f"--{ {'date_from': 'from', 'date_to': 'to', 'min_n': 'min-n'}.get(key, key) }", value]
    code, out, _ = run_cli(args)
    assert code == 0
    printed = json.loads(out)
    assert printed["options"]["claims_minimum_n"] == 20
    assert {verdict["status"] for verdict in printed["verdicts"][0].values() if isinstance(verdict, dict)} == {
        "not_enough_data"
    }
    html = client_for(clinic_admin).get("/insights/", params).content.decode()
    assert html.count('data-status="not_enough_data"') == 3


def test_a_larger_minimum_raises_the_claims_minimum_and_a_smaller_one_does_not_lower_it(evidence):
    judged = claims_report(evidence, *parse_filters(evidence.pk, {"min_n": "1"}))
    assert judged.claims_minimum_n == 20 and judged.verdicts[0].relief.status == "consistent"
    raised = claims_report(evidence, *parse_filters(evidence.pk, {"min_n": "30"}))
    assert raised.claims_minimum_n == 30 and raised.verdicts[0].relief.status == "not_enough_data"
    assert "fewer than the 30 needed" in raised.verdicts[0].relief.headline
