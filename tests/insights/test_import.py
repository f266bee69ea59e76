"""Outcome CSV import: every row validated, rejected rows reported with their line and reason, all or nothing;
and the real Ashar 2022 trial data through the import and the responder report by group, against the same
responder rates worked out straight from the CSV."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path

import pytest
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.cli import main
from needlepoint.insights.filters import parse_filters
from needlepoint.insights.importer import ImportOptions, ImportRejected, import_outcomes
from needlepoint.insights.models import EpisodeCohort, OutcomeImport
from needlepoint.insights.report import responder_report
from needlepoint.insights.stats import wilson_interval
from needlepoint.outcomes.models import Observation
from needlepoint.patients.models import Episode, Patient

ASHAR = Path(__file__).resolve().parents[1] / "data" / "trial-ashar2022-backpain" / "Ashar_backpain_simple_long.csv"
LONG = ImportOptions(condition="low_back_pain", instrument_col="instrument", value_col="value", group_col="arm")


def csv_bytes(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


GOOD = [
    ["id", "time", "arm", "instrument", "value"],
    ["p1", 1, "A", "NPRS", 7],
    ["p1", 2, "A", "NPRS", 3],
    ["p1", 1, "A", "ODI", 40],
    ["p1", 2, "A", "ODI", 22],
    ["p2", 1, "B", "nprs", 6],
    ["p2", 2, "B", "NPRS", "NaN"],
    ["p3", 1, "B", "NPRS", 5],
    ["p3", 2, "B", "NPRS", 5],
    ["p3", 3, "B", "NPRS", 4],
]


def test_a_valid_long_file_becomes_one_episode_per_patient(clinician):
    options = ImportOptions(**{**LONG.__dict__, "start_date": date(2024, 1, 1), "mrn_prefix": "TR-"})
    result = import_outcomes(clinician, csv_bytes(GOOD), "trial.csv", options)
    assert (result.patients_created, result.episodes, result.observations, result.values_missing) == (3, 3, 8, 1)
    assert set(Patient.objects.values_list("mrn", flat=True)) == {"TR-p1", "TR-p2", "TR-p3"}
    episode = Episode.objects.get(patient__mrn="TR-p3")
    assert (episode.condition, episode.status, episode.discharge_date) == (
        "low_back_pain",
        "discharged",
        date(2024, 2, 26),
    )
    points = list(
        Observation.objects.filter(episode=episode).order_by("observed_on").values_list("time_point", "value")
    )
    # The file's first ordinal is the baseline, its last the final value; in between, re-assessments.
    assert points == [("baseline", 5.0), ("reassessment", 5.0), ("discharge", 4.0)]
    # p1 stopped at ordinal 2 of 3: a re-assessment, which the report still takes as p1's final value.
    p1 = Observation.objects.filter(episode__patient__mrn="TR-p1", time_point="reassessment")
    assert sorted(p1.values_list("instrument", "value")) == [("NPRS", 3.0), ("ODI", 22.0)]
    assert dict(EpisodeCohort.objects.values_list("episode__patient__mrn", "label")) == {
        "TR-p1": "A", "TR-p2": "B", "TR-p3": "B",
    }  # fmt: skip
    assert OutcomeImport.objects.get().summary["observations"] == 8
    assert AuditEntry.objects.filter(object_type="insights.OutcomeImport").count() == 4  # 3 patients + the import


def test_any_bad_row_rejects_the_whole_file_with_each_reason(clinician):
    rows = [
        *GOOD,
        ["", 1, "A", "NPRS", 5],
        ["p4", "soon", "A", "NPRS", 5],
        ["p5", 1, "A", "XYZ", 5],
        ["p6", 1, "A", "NPRS", 11],
        ["p7", 1, "A", "NPRS", "five"],
        ["p1", 2, "A", "NPRS", 2],
        ["p2", 3, "A", "NPRS", 2],
    ]
    with pytest.raises(ImportRejected) as caught:
        import_outcomes(clinician, csv_bytes(rows), "bad.csv", LONG)
    reasons = dict(caught.value.errors)
    assert "patient id" in reasons[11]
    assert "neither a whole number nor a date" in reasons[12]
    assert "unknown instrument 'XYZ'" in reasons[13]
    assert "outside the scale (from 0 to 10)" in reasons[14]
    assert "is not a number" in reasons[15]
    assert "a second NPRS value for patient p1" in reasons[16]
    assert "in group 'B' on line 6 but 'A' here" in reasons[17]
    assert not Patient.objects.exists() and not Observation.objects.exists() and not OutcomeImport.objects.exists()


def test_values_are_read_as_the_form_prints_them(clinician):
    rows = [
        ["id", "time", "arm", "instrument", "value"],
        ["p1", 1, "A", "GROC", "+3"],
        ["p1", 2, "A", "GROC", "Somewhat better"],
        ["p2", 1, "A", "GROC", "-7"],
        ["p2", 2, "A", "HIT6", 61],
    ]
    import_outcomes(clinician, csv_bytes(rows), "printed.csv", LONG)
    assert sorted(Observation.objects.values_list("instrument", "value")) == [
        ("GROC", -7.0), ("GROC", 3.0), ("GROC", 3.0), ("HIT6", 61.0),
    ]  # fmt: skip


def test_values_the_form_cannot_give_are_refused_with_the_printed_scale(clinician):
    rows = [
        ["id", "time", "arm", "instrument", "value"],
        ["p1", 1, "A", "GROC", 14],  # the old position of +7
        ["p2", 1, "A", "GROC", "a lot better"],
        ["p3", 1, "A", "HIT6", 37],  # six items scored 6/8/10/11/13 cannot add up to 37
        ["p4", 1, "A", "NPRS", 2.5],
    ]
    with pytest.raises(ImportRejected) as caught:
        import_outcomes(clinician, csv_bytes(rows), "positions.csv", LONG)
    reasons = dict(caught.value.errors)
    assert "the GROC value 14 is outside the scale (-7 = A very great deal worse" in reasons[2]
    assert "the GROC value 'a lot better' is not on the form's scale (-7 = A very" in reasons[3]
    assert "the HIT6 value 37 is not a total the form can give (6 items, each 6 = Never, 8 = Rarely" in reasons[4]
    assert "the NPRS value 2.5 is not on the form's scale (from 0 to 10)" in reasons[5] and "--mean-of" in reasons[5]
    assert not Observation.objects.exists()


def test_a_mean_of_several_ratings_is_declared(clinician):
    rows = [["id", "time", "pain"], ["p1", 1, 2.25], ["p1", 2, 0.5], ["p2", 1, 2.3]]
    four = ImportOptions(condition="low_back_pain", value_cols=(("pain", "NPRS"),), mean_of=4)
    with pytest.raises(ImportRejected) as caught:
        import_outcomes(clinician, csv_bytes(rows), "means.csv", four)
    assert dict(caught.value.errors) == {4: "the NPRS value 2.3 is not a mean of 4 ratings (from 0 to 10)"}
    import_outcomes(clinician, csv_bytes(rows[:3]), "means.csv", four)
    assert sorted(Observation.objects.values_list("value", flat=True)) == [0.5, 2.25]
    with pytest.raises(ImportRejected, match="--mean-of applies to one-rating instruments"):
        import_outcomes(clinician, csv_bytes(GOOD), "x.csv", ImportOptions(**{**LONG.__dict__, "mean_of": 4}))


def test_missing_columns_and_bad_options_are_named(clinician):
    with pytest.raises(ImportRejected, match="Column\\(s\\) not in the file: arm"):
        import_outcomes(
            clinician, csv_bytes([["id", "time", "instrument", "value"], ["p", 1, "NPRS", 3]]), "x.csv", LONG
        )
    with pytest.raises(ImportRejected, match="Unknown condition"):
        import_outcomes(
            clinician, csv_bytes(GOOD), "x.csv", ImportOptions(condition="knees", value_cols=(("value", "NPRS"),))
        )
    with pytest.raises(ImportRejected, match="Name either"):
        import_outcomes(clinician, csv_bytes(GOOD), "x.csv", ImportOptions(condition="neck_pain"))
    with pytest.raises(ImportRejected, match="mix whole numbers and dates"):
        rows = [
            ["id", "time", "arm", "instrument", "value"],
            ["p", 1, "A", "NPRS", 3],
            ["p", "2024-01-05", "A", "NPRS", 2],
        ]
        import_outcomes(clinician, csv_bytes(rows), "x.csv", LONG)
    assert not Patient.objects.exists()


def test_dates_one_column_per_instrument_and_existing_patients(clinician, patient):
    rows = [
        ["mrn", "seen", "pain", "ndi"],
        [patient.mrn, "2024-03-01", 8, 40],
        [patient.mrn, "2024-04-12", 3, 20],
        ["new-1", "2024-05-02", 6, ""],
    ]
    options = ImportOptions(
        condition="neck_pain", patient_col="mrn", time_col="seen", value_cols=(("pain", "NPRS"), ("ndi", "NDI"))
    )
    result = import_outcomes(clinician, csv_bytes(rows), "clinic.csv", options)
    assert (result.patients_created, result.patients_matched, result.observations) == (1, 1, 5)
    episode = Episode.objects.get(patient=patient)
    assert episode.discharge_date == date(2024, 4, 12)
    assert sorted(Observation.objects.filter(episode=episode).values_list("time_point", "instrument", "value")) == [
        ("baseline", "NDI", 40.0), ("baseline", "NPRS", 8.0), ("discharge", "NDI", 20.0), ("discharge", "NPRS", 3.0),
    ]  # fmt: skip


def test_an_imported_day_stays_that_day_on_a_clock_far_east_of_utc(clinician, patient, settings):
    """Noon UTC is already the next day in Auckland: the imported episode opens, and its scores are taken, at noon
    of the file's day on the clinic's clock, so the report counts them on that day."""
    settings.TIME_ZONE = "Pacific/Auckland"
    rows = [["mrn", "seen", "pain"], [patient.mrn, "2024-03-01", 8], [patient.mrn, "2024-04-12", 3]]
    options = ImportOptions(condition="neck_pain", patient_col="mrn", time_col="seen", value_cols=(("pain", "NPRS"),))
    import_outcomes(clinician, csv_bytes(rows), "clinic.csv", options)
    episode = Episode.objects.get(patient=patient)
    assert timezone.localdate(episode.opened_at) == date(2024, 3, 1)
    for observation in Observation.objects.filter(episode=episode):
        assert timezone.localdate(observation.observed_at) == observation.observed_on


def test_the_same_file_twice_is_refused_unless_asked(clinician):
    options = ImportOptions(**{**LONG.__dict__, "start_date": date(2024, 1, 1)})
    import_outcomes(clinician, csv_bytes(GOOD), "trial.csv", options)
    with pytest.raises(ImportRejected, match="already imported"):
        import_outcomes(clinician, csv_bytes(GOOD), "trial.csv", options)
    assert import_outcomes(clinician, csv_bytes(GOOD), "trial.csv", options, allow_repeat=True).patients_matched == 3


def test_only_roles_that_document_care_may_import(clinic_admin, front_desk):
    from needlepoint.accounts.access import AccessDenied

    for membership in (clinic_admin, front_desk):
        with pytest.raises(AccessDenied):
            import_outcomes(membership, csv_bytes(GOOD), "trial.csv", LONG)


# ---------------------------------------------------------------------------------------------------- Ashar 2022


def ashar_expected(rule_bound: float = 2.0) -> dict[str, dict[str, tuple[int, int, int]]]:
    """Per trial arm, straight from the CSV: (responders, patients with a baseline, patients with both values)."""
    values: dict[str, dict[int, float]] = defaultdict(dict)
    arms: dict[str, str] = {}
    with ASHAR.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["is_patient"] != "1":
                continue
            arms[row["id"]] = {"1": "PRT", "2": "Placebo", "3": "Usual care"}.get(row["group"], "")
            if row["bpi_intensity"] not in ("NaN", ""):
                values[row["id"]][int(row["time"])] = float(row["bpi_intensity"])
    result: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for patient, arm in arms.items():
        before, after = values[patient].get(1), values[patient].get(2)
        if before is None:
            continue
        tally = result[arm]
        tally[1] += 1
        if after is not None:
            tally[2] += 1
            tally[0] += before - after >= rule_bound - 1e-9
    return {arm: tuple(tally) for arm, tally in result.items()}


IMPORT_ARGS = [
    "import", "outcomes", str(ASHAR), "--user", "alice", "--condition", "low_back_pain", "--patient-col", "id",
    "--time-col", "time", "--group-col", "group", "--group-label", "1=PRT", "--group-label", "2=Placebo",
    "--group-label", "3=Usual care", "--value-col", "bpi_intensity", "--instrument", "NPRS",
    "--where", "is_patient=1", "--mrn-prefix", "ASHAR-", "--start-date", "2017-06-01",
    "--mean-of", "4",  # the trial's pain intensity is the mean of the four BPI 0-10 ratings (steps of 0.25)
]  # fmt: skip


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("policy", ["itt", "completers"])
def test_ashar_trial_through_the_import_and_the_responder_report_by_group(clinic, clinician, policy):
    code, out, err = run_cli([*IMPORT_ARGS, "--clinic", clinic.slug])
    assert code == 0, err
    assert "Read 341 rows; 54 left out by --where" in out
    expected = ashar_expected()
    filters, options = parse_filters(clinic.pk, {"missing": policy})
    report = responder_report(clinic, filters, options, "NPRS", by="cohort")
    rows = {row.group: row for row in report.rows}
    assert set(rows) == {"PRT", "Placebo", "Usual care", "(no group recorded)"}
    for arm, (responders, with_baseline, completers) in expected.items():
        row = rows[arm or "(no group recorded)"]
        n = with_baseline if policy == "itt" else completers
        assert (row.with_baseline, row.completers) == (with_baseline, completers)
        if n == 0:
            assert not row.responders.enough_data
            continue
        assert (row.responders.successes, row.responders.n) == (responders, n)
        assert (row.responders.low, row.responders.high) == pytest.approx(wilson_interval(responders, n))
    # Pain reprocessing therapy clearly beat usual care in the trial; the report must show it.
    assert rows["PRT"].responders.low > rows["Usual care"].responders.high

    code, out, _ = run_cli([
        "report", "responders", "--clinic", clinic.slug, "--instrument", "NPRS", "--rule", "mcid",
        "--missing", policy, "--by", "cohort", "--json",
    ])  # fmt: skip
    assert code == 0
    printed = {row["group"]: row for row in json.loads(out)["rows"]}
    assert printed["PRT"]["responders"]["successes"] == rows["PRT"].responders.successes
    assert printed["PRT"]["responders"]["n"] == rows["PRT"].responders.n


def test_ashar_final_at_most_rule(clinic, clinician):
    assert run_cli([*IMPORT_ARGS, "--clinic", clinic.slug])[0] == 0
    filters, options = parse_filters(clinic.pk, {"rule": "final-at-most:1", "missing": "completers"})
    rows = {row.group: row for row in responder_report(clinic, filters, options, "NPRS", by="cohort").rows}
    finals: dict[str, list[float]] = defaultdict(list)
    with ASHAR.open(newline="", encoding="utf-8") as handle:
        data = [row for row in csv.DictReader(handle) if row["is_patient"] == "1"]
    has_baseline = {row["id"] for row in data if row["time"] == "1" and row["bpi_intensity"] != "NaN"}
    for row in data:
        if row["time"] == "2" and row["bpi_intensity"] != "NaN" and row["id"] in has_baseline:
            finals[{"1": "PRT", "2": "Placebo", "3": "Usual care"}[row["group"]]].append(float(row["bpi_intensity"]))
    for arm, values in finals.items():
        assert (rows[arm].responders.successes, rows[arm].responders.n) == (sum(v <= 1 for v in values), len(values))


def test_cli_import_reports_rejected_rows_and_imports_nothing(clinic, clinician, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([["id", "time", "instrument", "value"], ["p1", 1, "NPRS", 12]]))
    code, _, err = run_cli([
        "import", "outcomes", str(path), "--clinic", clinic.slug, "--user", "alice", "--condition", "neck_pain",
        "--instrument-col", "instrument", "--value-col", "value",
    ])  # fmt: skip
    assert code == 2
    assert "nothing imported" in err and "line 2: the NPRS value 12 is outside the scale" in err
    assert not Patient.objects.exists()
