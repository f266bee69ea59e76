"""The due-date rules (pure): baseline, every N days, every Nth visit, discharge; what counts as done; a link
still out counts as sent; the completion count; malformed schedules refused with the field named."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from needlepoint.outcomes import due
from needlepoint.outcomes.due import EpisodeFacts, Rule, ScheduleError

OPENED = date(2026, 3, 2)


def day(n: int) -> date:
    return OPENED + timedelta(days=n)


def kinds(rule: Rule, facts: EpisodeFacts, today: date) -> list[tuple[str, date]]:
    return [(o.kind, o.due_on) for o in due.occasions(rule, facts, today)]


def test_baseline_is_due_on_opening_and_done_by_an_answer_within_its_window() -> None:
    rules = {"NDI": Rule(every_days=None, discharge=False)}
    facts = EpisodeFacts(OPENED)
    [now] = due.due_now(rules, facts, {}, day(0))
    assert (now.instrument, now.occasion.kind, now.overdue) == ("NDI", "baseline", False)
    assert due.due_now(rules, facts, {"NDI": [day(2)]}, day(3)) == []
    assert due.due_now(rules, facts, {"PSFS": [day(2)]}, day(3)) != []  # another instrument does not count
    [late] = due.due_now(rules, facts, {}, day(due.GRACE_DAYS))
    assert late.overdue
    # After its window the baseline can no longer be taken: nothing is due, and it counts as missed.
    assert due.due_now(rules, facts, {}, day(due.BASELINE_WINDOW_DAYS)) == []
    assert due.settled(rules, facts, {}, day(30), OPENED) == due.Completion(1, 0)
    assert due.settled(rules, facts, {"NDI": [day(1)]}, day(30), OPENED) == due.Completion(1, 1)


def test_every_n_days_comes_round_and_each_window_runs_to_the_next() -> None:
    rule = Rule(baseline=False, every_days=14, discharge=False)
    facts = EpisodeFacts(OPENED)
    assert kinds(rule, facts, day(13)) == []
    assert kinds(rule, facts, day(30)) == [("every_days", day(14)), ("every_days", day(28))]
    # An answer three days early counts; four days early belongs to the window before.
    assert due.due_now({"NDI": rule}, facts, {"NDI": [day(25)]}, day(28)) == []
    [pending] = due.due_now({"NDI": rule}, facts, {"NDI": [day(24)]}, day(28))
    assert (pending.occasion.due_on, pending.occasion.time_point) == (day(28), "reassessment")
    # Completion: day 14 answered (day 16), day 28 not; day 42's grace has not ended by day 45.
    assert due.settled({"NDI": rule}, facts, {"NDI": [day(16)]}, day(45), OPENED) == due.Completion(2, 1)


def test_every_nth_visit_counts_visits_not_days() -> None:
    rule = Rule(baseline=False, every_visits=4, discharge=False)
    visits = tuple(day(n) for n in (1, 3, 8, 10, 15, 17, 22, 24))
    facts = EpisodeFacts(OPENED, visits)
    assert kinds(rule, facts, day(9)) == []
    assert kinds(rule, facts, day(10)) == [("every_visits", day(10))]
    assert kinds(rule, facts, day(30)) == [("every_visits", day(10)), ("every_visits", day(24))]
    [now] = due.due_now({"PRTEE": rule}, facts, {"PRTEE": [day(11)]}, day(24))
    assert now.occasion.due_on == day(24)
    assert due.due_now({"PRTEE": rule}, facts, {"PRTEE": [day(11), day(24)]}, day(25)) == []


def test_discharge_ends_the_repeats_and_is_due_itself() -> None:
    rule = Rule(baseline=True, every_days=14, discharge=True)
    facts = EpisodeFacts(OPENED, (), discharged_on=day(20))
    assert kinds(rule, facts, day(40)) == [("baseline", day(0)), ("every_days", day(14)), ("discharge", day(20))]
    [now] = due.due_now({"NDI": rule}, facts, {"NDI": [day(0), day(14)]}, day(21))
    assert (now.occasion.kind, now.occasion.time_point) == ("discharge", "discharge")
    # The day-14 window closes where the discharge window opens: an answer on day 18 is the discharge one.
    assert due.due_now({"NDI": rule}, facts, {"NDI": [day(0), day(14), day(18)]}, day(21)) == []
    # Weeks after discharge the measure is no longer a discharge measure: nothing more is due.
    assert due.due_now({"NDI": rule}, facts, {}, day(20 + due.BASELINE_WINDOW_DAYS)) == []


def test_one_link_per_episode_takes_the_most_telling_time_point() -> None:
    facts = EpisodeFacts(OPENED, (), discharged_on=day(3))
    found = due.due_now({"NDI": Rule(), "PSFS": Rule(baseline=False)}, facts, {}, day(4))
    assert {d.instrument: d.occasion.kind for d in found} == {"NDI": "discharge", "PSFS": "discharge"}
    assert due.time_point_for(found) == "discharge"
    baseline_only = due.due_now({"NDI": Rule()}, EpisodeFacts(OPENED), {}, day(1))
    assert due.time_point_for(baseline_only) == "baseline"
    assert due.time_point_for([]) is None


def test_an_instrument_on_a_link_still_out_counts_as_sent() -> None:
    found = due.due_now({"NDI": Rule(), "PSFS": Rule()}, EpisodeFacts(OPENED), {}, day(1))
    send, already = due.to_send(found, {"NDI"})
    assert [d.instrument for d in send] == ["PSFS"]
    assert [d.instrument for d in already] == ["NDI"]
    send, already = due.to_send(found, set())
    assert len(send) == 2 and already == []


def test_due_and_settled_together_agree_with_each_asked_alone() -> None:
    # The dashboard's board asks both at once (occasions worked out once); the answers must be the same.
    rules = {
        "NDI": Rule(every_days=14),
        "PSFS": Rule(baseline=False, every_days=None, every_visits=3, discharge=True),
        "NPRS": Rule(every_days=None, discharge=True),
    }
    visits = tuple(day(n) for n in (0, 5, 9, 16, 23, 30, 44, 51))
    answered = {"NDI": [day(1), day(29), day(57)], "PSFS": [day(10)], "NPRS": [day(0)]}
    for facts in (EpisodeFacts(OPENED, visits), EpisodeFacts(OPENED, visits, day(52)), EpisodeFacts(OPENED)):
        for today in (day(0), day(13), day(21), day(40), day(60), day(120)):
            for since in (OPENED, day(30)):
                expected = (
                    due.due_now(rules, facts, answered, today),
                    due.settled(rules, facts, answered, today, since),
                )
                assert due.due_and_settled(rules, facts, answered, today, since) == expected


def test_nothing_is_due_before_the_episode_opens() -> None:
    assert due.due_now({"NDI": Rule(every_days=7)}, EpisodeFacts(day(5)), {}, day(0)) == []


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"every_days": 0.5}, "every_days"),
        ({"every_days": 400}, "every_days"),
        ({"every_visits": -1}, "every_visits"),
        ({"baseline": "yes"}, "baseline"),
        ({"weekly": True}, "weekly"),
        ({"baseline": False, "discharge": False}, "at least once"),
    ],
)
def test_a_malformed_rule_is_refused_with_the_field_named(data: dict, words: str) -> None:
    with pytest.raises(ScheduleError, match=words):
        due.check_rule(data)


def test_a_schedule_names_only_the_plan_s_instruments() -> None:
    rules = due.check_schedule({"NDI": {"every_visits": 4}, "*": {"every_days": 28}}, ["NDI", "PSFS"])
    assert due.rule_for(rules, "NDI", Rule()).every_visits == 4
    assert due.rule_for(rules, "PSFS", Rule()).every_days == 28
    with pytest.raises(ScheduleError, match="ODI"):
        due.check_schedule({"ODI": {}}, ["NDI"])


def test_rules_read_as_a_clinician_would_say_them() -> None:
    assert Rule(every_days=14).describe() == "at baseline, every 14 days and at discharge"
    assert Rule(baseline=False, every_visits=4, discharge=False).describe() == "every 4th visit"
    assert due.check_rule(Rule(every_visits=2).as_data()) == Rule(every_visits=2)
