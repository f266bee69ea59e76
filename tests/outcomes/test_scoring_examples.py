"""Hand-worked scoring examples for every instrument, from the published rules (arithmetic in comments)."""

import pytest

from needlepoint.outcomes import ScoringError, score
from tests.outcomes.conftest import SECTION_SCALE


def refuses(code, answers, *fragments):
    with pytest.raises(ScoringError) as caught:
        score(code, answers)
    for fragment in fragments:
        assert fragment in str(caught.value)
    return caught.value


# ---------------------------------------------------------------- NPRS


def test_nprs_scores_the_number():
    result = score("NPRS", [7])  # the 0-10 rating is the score
    assert result.total == 7
    assert result.unit == "points"
    assert result.direction == "higher_is_worse"


def test_nprs_boundaries_and_refusals():
    assert score("NPRS", [0]).total == 0
    assert score("NPRS", [10]).total == 10
    refuses("NPRS", [11], "Pain intensity", "outside the accepted values (from 0 to 10)")
    refuses("NPRS", [-1], "outside")
    refuses("NPRS", [None], "every item must be answered")
    refuses("NPRS", [], "expected 1 answers")
    refuses("NPRS", [6.5], "whole number")


# ---------------------------------------------------------------- NDI


def test_ndi_complete_is_sum_times_two():
    # 2 × 10 items = 20 of 50; 20/50 × 100 = 40 %
    assert score("NDI", [2] * 10).total == 40.0


def test_ndi_one_missing_reproduces_published_example_by_truncation():
    # 16 over 9 answered: 16/45 × 100 = 35.555… → published 35.5 % (truncation; rounding would give 35.6)
    result = score("NDI", [3, 3, 2, 1, 2, 2, 1, None, 1, 1])
    assert result.total == 35.5
    assert result.items_answered == 9


def test_ndi_driving_and_one_more_section_blank():
    # a non-driver who also skips reading: 2 × 8 = 16 over 8 answered, 16/40 × 100 = 40 % (the author's rule:
    # each blank section gets the mean of the answered ones, 16 + 2 + 2 = 20 of 50 = 40 %)
    answers = [2, 2, 2, None, 2, 2, 2, None, 2, 2]
    assert score("NDI", answers).total == 40.0
    assert score("NDI", answers).items_answered == 8


def test_ndi_truncates_not_rounds():
    # 17/45 × 100 = 37.777… → 37.7
    assert score("NDI", [2, 2, 2, 2, 2, 2, 2, 2, 1, None]).total == 37.7


def test_ndi_boundaries_and_refusals():
    assert score("NDI", [0] * 10).total == 0
    assert score("NDI", [5] * 10).total == 100
    assert score("NDI", [5] * 9 + [None]).total == 100  # 45/45
    refuses("NDI", [1] * 7 + [None] * 3, "3 items unanswered", "Driving", "Recreation", "at most 2")
    refuses("NDI", [1, 1, 6] + [1] * 7, "Lifting", f"not on the form's scale ({SECTION_SCALE})")
    refuses("NDI", [1] * 9, "expected 10 answers")
    assert score("NDI", [1] * 10).band is None  # no bands shipped for the NDI


# ---------------------------------------------------------------- ODI


def test_odi_complete_published_example():
    # 16/50 × 100 = 32 % (published example) → moderate disability (21–40)
    result = score("ODI", [3, 3, 2, 1, 2, 2, 1, 1, 1, 0])
    assert result.total == 32.0
    assert result.band == "moderate disability"


def test_odi_sex_life_not_applicable():
    # section 8 left blank: 16/45 × 100 = 35.555… → 35.5 %
    assert score("ODI", [3, 3, 2, 1, 2, 2, 1, None, 1, 1]).total == 35.5


@pytest.mark.parametrize(
    ("section_total", "band"),
    [
        (10, "minimal disability"),  # 10/50 = 20 %
        (11, "moderate disability"),  # 22 %
        (20, "moderate disability"),  # 40 %
        (21, "severe disability"),  # 42 %
        (30, "severe disability"),  # 60 %
        (31, "crippled"),  # 62 %
        (40, "crippled"),  # 80 %
        (41, "bed-bound or exaggerating symptoms"),  # 82 %
    ],
)
def test_odi_bands(section_total, band):
    answers = [5] * (section_total // 5) + [section_total % 5]
    answers += [0] * (10 - len(answers))
    assert score("ODI", answers).band == band


def test_odi_refusals():
    refuses("ODI", [None, None] + [2] * 8, "2 items unanswered", "at most 1")
    refuses("ODI", [None] * 10, "unanswered")
    refuses("ODI", [2] * 9 + [True], "not a number")
    refuses("ODI", "2222222222", "list")


# ---------------------------------------------------------------- RMDQ


def test_rmdq_counts_yes():
    answers = [0] * 24
    answers[0] = answers[2] = answers[4] = 1  # three statements endorsed
    assert score("RMDQ", answers).total == 3
    assert score("RMDQ", [1] * 24).total == 24
    assert score("RMDQ", [0] * 24).total == 0


def test_rmdq_refusals():
    refuses("RMDQ", [0] * 23 + [None], "Stays in bed most of the time")
    refuses("RMDQ", [0] * 23 + [2], "not on the form's scale (0 = No")
    refuses("RMDQ", [0] * 23, "expected 24")


# ---------------------------------------------------------------- HIT-6


def test_hit6_points_per_option():
    # never 6, rarely 8, sometimes 10, very often 11, always 13, always 13 = 61 → severe impact (≥60)
    result = score("HIT6", [6, 8, 10, 11, 13, 13])  # the values the form prints
    assert result.total == 61
    assert result.band == "severe impact"


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ([6] * 6, 36, "little or no impact"),  # 6 × 6
        ([6, 8, 8, 8, 8, 11], 49, "little or no impact"),  # 6+8+8+8+8+11
        ([6, 8, 8, 8, 10, 10], 50, "some impact"),  # 6+8+8+8+10+10
        ([8, 8, 8, 10, 10, 11], 55, "some impact"),  # 8+8+8+10+10+11
        ([8, 8, 10, 10, 10, 10], 56, "substantial impact"),  # 8+8+10+10+10+10
        ([8, 10, 10, 10, 10, 11], 59, "substantial impact"),  # 8+10+10+10+10+11
        ([10] * 6, 60, "severe impact"),  # 6 × 10
        ([13] * 6, 78, "severe impact"),  # 6 × 13
    ],
)
def test_hit6_bands(answers, total, band):
    result = score("HIT6", answers)
    assert (result.total, result.band) == (total, band)


def test_hit6_refusals():
    refuses("HIT6", [6, 6, 6, 6, 6, None], "every item must be answered")
    # positions are not answers: 0-4 and in-between values are refused with the printed scale
    refuses("HIT6", [6, 6, 6, 6, 6, 4], "not on the form's scale (6 = Never, 8 = Rarely, 10 = Sometimes, 11 = Very")
    refuses("HIT6", [6, 6, 6, 6, 6, 9], "not on the form's scale")


# ---------------------------------------------------------------- MIDAS


@pytest.mark.parametrize(
    ("days", "grade"),
    [
        ([0, 0, 0, 0, 0], "Grade I: little or no disability"),
        ([1, 1, 1, 1, 1], "Grade I: little or no disability"),  # 5
        ([2, 1, 1, 1, 1], "Grade II: mild disability"),  # 6
        ([2, 3, 0, 4, 1], "Grade II: mild disability"),  # 10
        ([2, 3, 0, 4, 2], "Grade III: moderate disability"),  # 11
        ([4, 4, 4, 4, 4], "Grade III: moderate disability"),  # 20
        ([5, 4, 4, 4, 4], "Grade IV: severe disability"),  # 21
    ],
)
def test_midas_sum_of_days_and_grade(days, grade):
    result = score("MIDAS", [*days, None, None])
    assert result.total == sum(days)
    assert result.band == grade
    assert result.unit == "days"


def test_midas_unscored_items_are_reported_not_added():
    result = score("MIDAS", [2, 3, 0, 4, 1, 30, 7])  # 2+3+0+4+1 = 10; A and B not added
    assert result.total == 10
    assert result.unscored_items == {"headache_days": 30, "average_pain": 7}


def test_midas_maximum_respects_day_pairs():
    # questions 1+2 ≤ 90, 3+4 ≤ 90, 5 ≤ 90: 90 + 90 + 90 = 270
    assert score("MIDAS", [45, 45, 45, 45, 90, 90, 10]).total == 270


def test_midas_refusals():
    refuses("MIDAS", [50, 41, 0, 0, 0, None, None], "add up to 91", "more than 90")
    refuses("MIDAS", [0, 0, 60, 31, 0, None, None], "missed_housework and reduced_housework")
    refuses("MIDAS", [91, 0, 0, 0, 0, None, None], "Days missed work or school")
    refuses("MIDAS", [0, 0, 0, 0, None, None, None], "every item must be answered")
    refuses("MIDAS", [0, 0, 0, 0, 0, None, 11], "average headache pain")
    refuses("MIDAS", [0, 0, 0, 0, 0], "expected 7")


# ---------------------------------------------------------------- PRTEE


def test_prtee_subscales_and_total():
    pain = [3, 5, 6, 1, 8]  # 3+5+6+1+8 = 23
    function = [4, 6, 2, 5, 3, 7, 1, 0, 9, 4]  # 41 ÷ 2 = 20.5
    result = score("PRTEE", pain + function)
    assert result.subscales == {"pain": 23, "function": 20.5}
    assert result.total == 43.5  # 23 + 20.5


def test_prtee_boundaries_and_refusals():
    assert score("PRTEE", [0] * 15).total == 0
    result = score("PRTEE", [10] * 15)  # 50 + 100/2 = 100
    assert (result.total, result.subscales) == (100, {"pain": 50, "function": 50})
    refuses("PRTEE", [5] * 14 + [None], "every item must be answered")
    refuses("PRTEE", [11] + [5] * 14, "Pain at rest", "outside")


# ---------------------------------------------------------------- QuickDASH


def test_quickdash_all_answered():
    # points 1,2,3,4,5,1,2,3,4,5,3 = 33; 33/11 = 3; (3 − 1) × 25 = 50
    assert score("QUICKDASH", [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 3]).total == 50


def test_quickdash_one_missing_uses_answered_count():
    # ten answers of points 2,3,2,3,2,3,2,3,2,3 = 25; 25/10 = 2.5; (2.5 − 1) × 25 = 37.5
    answers = [2, 3, 2, 3, 2, 3, 2, 3, 2, 3, None]
    assert score("QUICKDASH", answers).total == 37.5
    assert score("QUICKDASH", answers).items_answered == 10


def test_quickdash_is_not_rounded():
    # points: nine 2s and two 1s = 20; (20/11 − 1) × 25 = 225/11 = 20.4545…
    assert score("QUICKDASH", [2] * 9 + [1, 1]).total == pytest.approx(225 / 11, abs=1e-12)


def test_quickdash_boundaries_and_refusals():
    assert score("QUICKDASH", [1] * 11).total == 0  # eleven "no difficulty" (1 as printed) score 0
    assert score("QUICKDASH", [5] * 11).total == 100
    refuses("QUICKDASH", [1] * 9 + [None, None], "at least 10 of 11", "9 were")
    refuses("QUICKDASH", [1] * 10 + [6], "Difficulty sleeping", "1 = No difficulty", "5 = So much difficulty")
    refuses("QUICKDASH", [0] * 11, "Open a tight or new jar", "answer 0 is not on the form's scale")
    refuses("QUICKDASH", [1] * 12, "expected 11 or 19")


def test_quickdash_modules():
    # work module: four answers of points 2 → 8/4 = 2; (2 − 1) × 25 = 25; sport not offered
    result = score("QUICKDASH", [1] * 11 + [2, 2, 2, 2] + [None] * 4)
    assert result.total == 0
    assert result.subscales == {"work": 25}
    # both modules: sport points 5,5,5,5 → (5 − 1) × 25 = 100
    both = score("QUICKDASH", [1] * 11 + [2, 2, 2, 2] + [5, 5, 5, 5])
    assert both.subscales == {"work": 25, "sport": 100}


def test_quickdash_module_needs_all_four_items():
    refuses("QUICKDASH", [1] * 11 + [2, 2, None, 2] + [None] * 4, "Work module", "all 4 items", "3 were")
    refuses("QUICKDASH", [1] * 11 + [None] * 4 + [2, 6, 2, 2], "Sport/performing arts")


# ---------------------------------------------------------------- LEFS


def test_lefs_sum():
    # ten items at 3 and ten at 2: 30 + 20 = 50
    result = score("LEFS", [3] * 10 + [2] * 10)
    assert result.total == 50
    assert result.direction == "higher_is_better"
    assert score("LEFS", [0] * 20).total == 0
    assert score("LEFS", [4] * 20).total == 80


def test_lefs_refusals():
    refuses("LEFS", [4] * 19 + [None], "Rolling over in bed")
    refuses("LEFS", [4] * 19 + [5], "0 = Extreme difficulty", "4 = No difficulty")
    refuses("LEFS", [4] * 21, "expected 20")


# ---------------------------------------------------------------- PSFS


def test_psfs_mean_of_rated_activities():
    assert score("PSFS", [3, 5, 7]).total == 5  # 15/3
    assert score("PSFS", [4, 5, 6, 7]).total == 5.5  # 22/4
    assert score("PSFS", [2, None, 6, None, 7]).total == 5  # 15/3, empty slots ignored
    assert score("PSFS", [1, 1, 2]).total == pytest.approx(4 / 3, abs=1e-12)


def test_psfs_refusals():
    refuses("PSFS", [3, 5], "expected 3 or 4 or 5")
    refuses("PSFS", [3, None, None, None, 5], "at least 3 of 5", "2 were")
    refuses("PSFS", [3, 5, 11], "Activity 3", "0 to 10")


# ---------------------------------------------------------------- GROC


@pytest.mark.parametrize("rating", [-7, -3, 0, 3, 7])
def test_groc_printed_rating_is_the_score(rating):
    assert score("GROC", [rating]).total == rating


def test_groc_refusals():
    refuses("GROC", [8], "not on the form's scale (-7 = A very great deal worse", "+7 = A very great deal better)")
    refuses("GROC", [14], "not on the form's scale")  # the old position of +7 is no answer


# ---------------------------------------------------------------- PPT


def test_ppt_mean_of_trials_in_kpa():
    result = score("PPT", [150, 160, 170])  # 480/3 = 160 kPa
    assert (result.total, result.unit, result.items_answered) == (160, "kPa", 3)
    assert score("PPT", [250.5]).total == 250.5
    assert score("PPT", [150.5, 160, 170.25]).total == 160.25  # 480.75/3


def test_ppt_refusals():
    refuses("PPT", [0], "above 0")
    refuses("PPT", [-3.0], "outside")
    refuses("PPT", [150, 2500], "Trial 2", "2000")
    refuses("PPT", [float("nan")], "not a number")
    refuses("PPT", [None], "at least 1")
    refuses("PPT", [100] * 6, "expected 1 or 2 or 3 or 4 or 5")


# ---------------------------------------------------------------- codes


def test_codes_are_case_insensitive_and_unknown_codes_refused():
    assert score("nprs", [3]).instrument == "NPRS"
    error = refuses("VAS", [3], "unknown instrument code", "NDI")
    assert error.instrument == "VAS"
