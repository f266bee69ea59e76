"""Responder rules: hand-worked episodes, and the SQL conditions run in a real SQLite database."""

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from needlepoint.insights.responders import (
    MissingPolicy,
    ResponderRule,
    RuleKind,
    describe_missing_policy,
    describe_rule,
    is_responder,
    parse_missing_policy,
    parse_rule,
    responder_conditions,
    responder_count,
)

MCID = parse_rule("mcid")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mcid", ResponderRule(RuleKind.MCID)),
        (" MCID ", ResponderRule(RuleKind.MCID)),
        ("percent:30", ResponderRule(RuleKind.PERCENT, 30.0)),
        ("final-at-most:1", ResponderRule(RuleKind.FINAL_AT_MOST, 1.0)),
        ("final-at-least:40.5", ResponderRule(RuleKind.FINAL_AT_LEAST, 40.5)),
    ],
)
def test_rules_parse(text, expected):
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "median", "percent", "percent:", "percent:abc", "percent:0", "percent:-5", "mcid:2", "final-at-most:nan"],
)
def test_malformed_rules_are_rejected(text):
    with pytest.raises(ValueError):
        parse_rule(text)


@pytest.mark.parametrize(
    ("rule", "baseline", "final", "expected"),
    [
        (MCID, 7, 5, True),  # fell by exactly the MCID of 2
        (MCID, 7, 5.5, False),
        (MCID, 2.3, 0.3, True),  # 2.3 - 0.3 is 1.9999999999999998 in binary floating point
        (MCID, 3, 4, False),  # got worse
        (parse_rule("percent:30"), 10, 7, True),  # 0.3 * 10 is 3.0000000000000004 in floating point
        (parse_rule("percent:30"), 10, 7.1, False),
        (parse_rule("percent:30"), 0, 0, False),  # no percent change from zero
        (parse_rule("final-at-most:1"), 3, 1, True),
        (parse_rule("final-at-most:1"), 3, 1.5, False),
        (parse_rule("final-at-most:1"), 1, 1, True),  # started there: counts without improving, as described
        (MCID, 7, None, False),
        (MCID, None, 2, False),
    ],
)
def test_is_responder_on_a_higher_is_worse_pain_scale(rule, baseline, final, expected):
    assert is_responder(rule, baseline, final, mcid=2, direction="higher_is_worse") is expected


@pytest.mark.parametrize(
    ("rule", "baseline", "final", "expected"),
    [
        (MCID, 40, 49, True),  # LEFS, MCID 9
        (MCID, 40, 48, False),
        (MCID, 49, 40, False),
        (parse_rule("percent:20"), 50, 60, True),
        (parse_rule("percent:20"), 50, 59, False),
        (parse_rule("final-at-least:60"), 30, 60, True),
        (parse_rule("final-at-least:60"), 30, 59, False),
    ],
)
def test_is_responder_on_a_higher_is_better_scale(rule, baseline, final, expected):
    assert is_responder(rule, baseline, final, mcid=9, direction="higher_is_better") is expected


@pytest.mark.parametrize(
    ("rule", "mcid", "direction"),
    [
        (MCID, None, "higher_is_worse"),
        (MCID, 0, "higher_is_worse"),
        (parse_rule("final-at-most:1"), None, "higher_is_better"),
        (parse_rule("final-at-least:60"), None, "higher_is_worse"),
        (parse_rule("percent:150"), None, "higher_is_worse"),
        (MCID, 2, "sideways"),
    ],
)
def test_rules_that_do_not_fit_the_measure_are_rejected(rule, mcid, direction):
    with pytest.raises(ValueError):
        is_responder(rule, 5, 3, mcid, direction)
    with pytest.raises(ValueError):
        responder_conditions(rule, mcid, direction)


def test_mcid_condition_reads_as_baseline_minus_final():
    (condition,) = responder_conditions(MCID, 2, "higher_is_worse")
    assert (
        condition.as_sql("baseline_pain", "final_pain") == "(1.0 * baseline_pain) + (-1.0 * final_pain) >= 1.999999999"
    )


def test_sql_rejects_column_names_that_are_not_identifiers():
    (condition,) = responder_conditions(MCID, 2, "higher_is_worse")
    with pytest.raises(ValueError):
        condition.as_sql("baseline; DROP TABLE episode", "final")


RULES_BY_DIRECTION = [
    ("mcid", "higher_is_worse"),
    ("percent:30", "higher_is_worse"),
    ("percent:50", "higher_is_worse"),
    ("final-at-most:1", "higher_is_worse"),
    ("mcid", "higher_is_better"),
    ("percent:25", "higher_is_better"),
    ("final-at-least:40", "higher_is_better"),
]

values_in_tenths = st.integers(min_value=0, max_value=800).map(lambda tenths: tenths / 10)
episodes = st.lists(
    st.tuples(st.one_of(st.none(), values_in_tenths), st.one_of(st.none(), values_in_tenths)), max_size=40
)


@given(episodes, st.sampled_from(RULES_BY_DIRECTION), st.sampled_from([1.0, 2.0, 9.0, 1.5]))
def test_sqlite_counts_the_same_responders_as_python(rows, rule_and_direction, mcid):
    rule, direction = parse_rule(rule_and_direction[0]), rule_and_direction[1]
    conditions = responder_conditions(rule, mcid, direction)
    where = " AND ".join(condition.as_sql("baseline", "final") for condition in conditions)
    with sqlite3.connect(":memory:") as database:
        database.execute("CREATE TABLE episode (baseline REAL, final REAL)")
        database.executemany("INSERT INTO episode VALUES (?, ?)", rows)
        (in_sql,) = database.execute(f"SELECT COUNT(*) FROM episode WHERE {where}").fetchone()
    in_python = sum(is_responder(rule, baseline, final, mcid, direction) for baseline, final in rows)
    assert in_sql == in_python


@given(values_in_tenths, values_in_tenths, st.sampled_from(RULES_BY_DIRECTION))
def test_linear_conditions_hold_exactly_when_python_says_responder(baseline, final, rule_and_direction):
    rule, direction = parse_rule(rule_and_direction[0]), rule_and_direction[1]
    conditions = responder_conditions(rule, 2.0, direction)
    assert all(c.holds(baseline, final) for c in conditions) == is_responder(rule, baseline, final, 2.0, direction)


def test_descriptions_say_what_counted():
    assert "(2 points)" in describe_rule(MCID, 2, "higher_is_worse")
    assert "30%" in describe_rule(parse_rule("percent:30"), None, "higher_is_worse")
    assert "without improving" in describe_rule(parse_rule("final-at-most:1"), None, "higher_is_worse")


def test_policies_parse():
    assert parse_missing_policy("ITT") is MissingPolicy.ITT
    assert parse_missing_policy("completers") is MissingPolicy.COMPLETERS
    with pytest.raises(ValueError):
        parse_missing_policy("last-observation-carried-forward")


def test_itt_keeps_every_episode_in_the_denominator_and_completers_drop_the_missing():
    assert responder_count(MissingPolicy.ITT, responders=12, with_follow_up=30, episodes=40) == (12, 40)
    assert responder_count(MissingPolicy.COMPLETERS, responders=12, with_follow_up=30, episodes=40) == (12, 30)
    with pytest.raises(ValueError):
        responder_count(MissingPolicy.ITT, responders=31, with_follow_up=30, episodes=40)


def test_policy_sentences_state_the_policy_the_numbers_and_the_direction_of_bias():
    itt = describe_missing_policy(MissingPolicy.ITT, with_follow_up=30, episodes=40)
    completers = describe_missing_policy(MissingPolicy.COMPLETERS, with_follow_up=30, episodes=40)
    assert "Intention to treat" in itt and "10 of 40" in itt and "low side" in itt
    assert "Completers only" in completers and "10 of 40" in completers and "flatter" in completers
    complete = describe_missing_policy(MissingPolicy.COMPLETERS, with_follow_up=40, episodes=40)
    assert "Completers only" in complete and "no difference" in complete
