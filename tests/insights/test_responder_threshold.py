"""The report's MCID responder rule never counts a change inside measurement error: where an instrument's MCID
lies below its MDC (QuickDASH: MCID 14, MDC 17.1), the bar is the MDC, in the SQL and in the words."""

from __future__ import annotations

import pytest
from django.db import connection

from needlepoint.insights.queries import responder_sql
from needlepoint.insights.report import _rule_note
from needlepoint.insights.responders import parse_rule
from needlepoint.outcomes.scoring import instrument


def responds(code: str, baseline: float, final: float) -> bool:
    condition = responder_sql(parse_rule("mcid"), instrument(code))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT CASE WHEN {condition} THEN 1 ELSE 0 END FROM (SELECT %s AS baseline, %s AS final) p",
            [baseline, final],
        )
        return cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_a_quickdash_change_between_the_mcid_and_the_mdc_is_no_response() -> None:
    quickdash = instrument("QUICKDASH")
    assert quickdash.mcid.value < quickdash.mdc.value == quickdash.responder_points
    assert not responds("QUICKDASH", 50.0, 50.0 - 15.0)  # past the MCID, inside the MDC
    assert responds("QUICKDASH", 50.0, 50.0 - 18.0)


@pytest.mark.django_db
def test_where_the_mcid_is_beyond_the_mdc_it_stays_the_bar() -> None:
    nprs = instrument("NPRS")
    assert nprs.responder_points == nprs.mcid.value
    assert responds("NPRS", 7.0, 5.0) and not responds("NPRS", 7.0, 6.0)


def test_the_report_says_why_the_bar_is_raised() -> None:
    note = _rule_note(parse_rule("mcid"), instrument("QUICKDASH"))
    assert "raised to the MDC (17.1)" in note and "within measurement error" in note
    assert "raised" not in _rule_note(parse_rule("mcid"), instrument("NPRS"))


def test_a_missing_share_reads_as_one_sentence() -> None:
    from needlepoint.insights.claims import _share
    from needlepoint.insights.stats import proportion

    assert _share(proportion(0, 0)) == "no episodes to count (Not enough data: no episodes)"
