"""Import outcomes from a CSV: a clinic's years of spreadsheet data, or a published trial's dataset.

The file is long format (one row per patient, time point and measure) or has one column per instrument. Every
row is checked first; if any row is rejected, the import writes nothing and reports each rejected row with its
line number and reason. Otherwise one transaction creates, per patient, a Patient of the clinic (MRN = prefix +
the file's patient id; an existing patient with that MRN is reused), one discharged episode of care for the
chosen condition, its observations, and the patient's group or cohort beside the episode.

Values are scores as the form prints them (``answers.read_total``): a one-rating instrument's printed value or
label (GROC −7 … +7 or "Somewhat better", NPRS 0-10), else the instrument's total; a value the form cannot give
is refused with the printed scale. ``mean_of`` declares each value the mean of that many ratings (a trial's
average of four pain ratings).

Time points are ordinals (1, 2, 3...) or dates. With ordinals, the file's first time point is the baseline and
its last the final (discharge) value, whatever a patient attended; with dates, each patient's first date is the
baseline and the last the final value. Points in between are re-assessments.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.access import require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.insights.models import EpisodeCohort, OutcomeImport
from needlepoint.outcomes import board_cache
from needlepoint.outcomes.answers import AnswerError, read_total
from needlepoint.outcomes.models import Observation
from needlepoint.outcomes.scoring import ScoringError, instrument
from needlepoint.patients import page as patient_page
from needlepoint.patients.conditions import ConditionDataError, conditions, default_icd10
from needlepoint.patients.models import Episode, Patient, normalise_name

MISSING_VALUES = frozenset({"", "na", "nan", "n/a", "null", "none", ".", "-", "<undefined>"})
MAX_REPORTED_ERRORS = 200
UNKNOWN_BIRTH_DATE = date(1900, 1, 1)
IMPORTED_GIVEN_NAME = "Imported"


class ImportRejected(ValueError):
    """The file cannot be imported; nothing was written. ``errors`` lists (line, reason), line 0 for the file."""

    def __init__(self, errors: Sequence[tuple[int, str]], rows_read: int = 0) -> None:
        self.errors = list(errors)
        self.rows_read = rows_read
        shown = "; ".join(f"line {line}: {reason}" if line else reason for line, reason in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{len(self.errors)} problem(s), nothing imported: {shown}{more}")


@dataclass(frozen=True)
class ImportOptions:
    """Which columns hold what, and how to read them."""

    condition: str
    patient_col: str = "id"
    time_col: str = "time"
    instrument_col: str | None = None
    value_col: str | None = None
    value_cols: tuple[tuple[str, str], ...] = ()  # (column, instrument code): one column per instrument
    group_col: str | None = None
    group_labels: Mapping[str, str] = field(default_factory=dict)
    where: Mapping[str, str] = field(default_factory=dict)
    mrn_prefix: str = ""
    start_date: date | None = None
    days_per_step: int = 28
    source: str = "patient"
    delimiter: str = ","
    mean_of: int = 1  # each value is the mean of this many ratings of a one-rating instrument

    def as_json(self) -> dict[str, object]:
        """The options as stored with the import."""
        return {
            "condition": self.condition,
            "patient_col": self.patient_col,
            "time_col": self.time_col,
            "instrument_col": self.instrument_col,
            "value_col": self.value_col,
            "value_cols": [list(pair) for pair in self.value_cols],
            "group_col": self.group_col,
            "group_labels": dict(self.group_labels),
            "where": dict(self.where),
            "mrn_prefix": self.mrn_prefix,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "days_per_step": self.days_per_step,
            "source": self.source,
            "mean_of": self.mean_of,
        }


@dataclass(frozen=True)
class ImportResult:
    """What an import created, and what it left out and why."""

    outcome_import: OutcomeImport
    rows_read: int
    rows_left_out: int
    values_missing: int
    patients_created: int
    patients_matched: int
    episodes: int
    observations: int
    cohorts: dict[str, int]
    time_points: str

    def lines(self) -> list[str]:
        """The summary in plain sentences, for the command line."""
        cohorts = ", ".join(f"{label or '(no group recorded)'}: {n}" for label, n in sorted(self.cohorts.items()))
        return [
            f"Read {self.rows_read} rows; {self.rows_left_out} left out by --where; "
            f"{self.values_missing} had no value (missing) and recorded nothing.",
            f"Created {self.patients_created} patients (matched {self.patients_matched} existing MRNs), "
            f"{self.episodes} episodes and {self.observations} observations.",
            f"Time points: {self.time_points}.",
            f"Episodes per group: {cohorts or 'none'}.",
        ]


@dataclass
class _Point:
    line: int
    patient: str
    when: int | date
    code: str
    value: float


def import_outcomes(
    membership: Membership, data: bytes, file_name: str, options: ImportOptions, *, allow_repeat: bool = False
) -> ImportResult:
    """Validate every row of the CSV ``data``, then import it in one transaction, or raise ImportRejected."""
    require(membership, Capability.EDIT_CLINICAL)
    errors = _check_options(options)
    if errors:
        raise ImportRejected(errors)
    digest = hashlib.sha256(data).hexdigest()
    earlier = OutcomeImport.objects.filter(clinic_id=membership.clinic_id, file_sha256=digest).first()
    if earlier is not None and not allow_repeat:
        raise ImportRejected([(0, f"This file was already imported on {earlier.imported_at:%Y-%m-%d %H:%M}.")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([(0, "The file is not UTF-8 text; save it as CSV (UTF-8).")]) from None
    parsed = _parse(text, options)
    if parsed.errors:
        raise ImportRejected(parsed.errors[:MAX_REPORTED_ERRORS], parsed.rows_read)
    if not parsed.points:
        raise ImportRejected([(0, "No row with a value to import.")], parsed.rows_read)
    with transaction.atomic():
        # The rows go in bulk, past the signals the dashboard's stored boards and the stored patient pages listen
        # to (episodes are added to patients already registered): announce the import.
        board_cache.clinic_changed(membership.clinic_id)
        patient_page.clinic_changed(membership.clinic_id)
        return _write(membership, parsed, file_name, digest, options)


# ---------------------------------------------------------------------------------------------------- reading


@dataclass
class _Parsed:
    rows_read: int = 0
    left_out: int = 0
    missing_values: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    points: list[_Point] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)
    ordinal: bool = True


def _check_options(options: ImportOptions) -> list[tuple[int, str]]:
    errors = []
    if options.condition not in conditions():
        errors.append((0, f"Unknown condition {options.condition!r}; use one of {', '.join(conditions())}."))
    shapes = [bool(options.instrument_col and options.value_col), bool(options.value_cols)]
    if sum(shapes) != 1:
        errors.append(
            (0, "Name either --instrument-col and --value-col (long format) or --value-col with --instrument.")
        )
    for _, code in options.value_cols:
        try:
            instrument(code)
        except ScoringError as exc:
            errors.append((0, str(exc)))
    errors += _check_mean_of(options)
    if options.days_per_step < 1:
        errors.append((0, "--days-per-step must be at least 1."))
    if options.source not in ("patient", "clinician"):
        errors.append((0, "--source must be patient or clinician."))
    return errors


def _check_mean_of(options: ImportOptions) -> list[tuple[int, str]]:
    if options.mean_of == 1:
        return []
    if options.mean_of < 1:
        return [(0, "--mean-of must be at least 1.")]
    try:
        several = [code for _, code in options.value_cols if len(instrument(code).core_items) > 1]
    except ScoringError:
        return []  # the unknown code is reported on its own
    if options.instrument_col or several:
        return [(0, "--mean-of applies to one-rating instruments named with --instrument (NPRS, GROC).")]
    return []


def _missing(text: str | None) -> bool:
    return text is None or text.strip().lower() in MISSING_VALUES


def _parse(text: str, options: ImportOptions) -> _Parsed:
    parsed = _Parsed()
    reader = csv.DictReader(io.StringIO(text), delimiter=options.delimiter)
    header = reader.fieldnames or []
    needed = [options.patient_col, options.time_col, *options.where]
    needed += [col for col in (options.instrument_col, options.value_col, options.group_col) if col]
    needed += [col for col, _ in options.value_cols]
    absent = [col for col in needed if col not in header]
    if absent:
        found = ", ".join(header)
        parsed.errors.append((0, f"Column(s) not in the file: {', '.join(absent)}. The header has: {found}."))
        return parsed
    kinds: set[str] = set()
    seen: dict[tuple[str, object, str], int] = {}
    group_line: dict[str, tuple[str, int]] = {}
    for line, row in enumerate(reader, start=2):
        parsed.rows_read += 1
        if any((row.get(col) or "").strip() != value for col, value in options.where.items()):
            parsed.left_out += 1
            continue
        problems: list[str] = []
        patient = (row.get(options.patient_col) or "").strip()
        if _missing(patient):
            problems.append(f"the patient id ({options.patient_col}) is missing")
        elif len(options.mrn_prefix + patient) > 30:
            problems.append(f"the MRN {options.mrn_prefix + patient!r} would be longer than 30 characters")
        when, kind = _time_point(row.get(options.time_col))
        if when is None:
            problems.append(f"the time point {row.get(options.time_col)!r} is neither a whole number nor a date")
        else:
            kinds.add(kind)
        if options.group_col and not problems:
            group = _group(row.get(options.group_col), options)
            first = group_line.setdefault(patient, (group, line))
            if first[0] != group:
                problems.append(f"patient {patient} is in group {first[0]!r} on line {first[1]} but {group!r} here")
        values = _values(row, options, problems)
        if problems or when is None:  # a missing time point is among the problems
            parsed.errors.append((line, "; ".join(problems)))
            continue
        for code, value in values:
            if value is None:
                parsed.missing_values += 1
                continue
            key = (patient, when, code)
            if key in seen:
                first_line = seen[key]
                parsed.errors.append(
                    (line, f"a second {code} value for patient {patient} at {when} (line {first_line})")
                )
                continue
            seen[key] = line
            parsed.points.append(_Point(line, patient, when, code, value))
        if options.group_col:
            parsed.groups[patient] = group_line[patient][0]
    if len(kinds) > 1:
        parsed.errors.append((0, "The time points mix whole numbers and dates; use one kind in the whole file."))
    parsed.ordinal = kinds != {"date"}
    return parsed


def _time_point(text: str | None) -> tuple[int | date | None, str]:
    raw = (text or "").strip()
    try:
        number = float(raw)
    except ValueError:
        number = None
    if number is not None and math.isfinite(number) and number == int(number):
        return int(number), "ordinal"
    try:
        return date.fromisoformat(raw), "date"
    except ValueError:
        return None, ""


def _group(text: str | None, options: ImportOptions) -> str:
    if _missing(text):
        return ""
    raw = (text or "").strip()
    return options.group_labels.get(raw, raw)[:100]


def _values(row: Mapping[str, str], options: ImportOptions, problems: list[str]) -> list[tuple[str, float | None]]:
    pairs: list[tuple[str, str | None]] = []
    if options.instrument_col:
        raw_code = (row.get(options.instrument_col) or "").strip()
        try:
            code = instrument(raw_code).code
        except ScoringError:
            problems.append(f"unknown instrument {raw_code!r}")
            return []
        pairs.append((code, row.get(options.value_col or "")))
    else:
        pairs.extend((instrument(code).code, row.get(column)) for column, code in options.value_cols)
    result: list[tuple[str, float | None]] = []
    for code, raw in pairs:
        if _missing(raw):
            result.append((code, None))
            continue
        try:
            result.append((code, read_total(instrument(code), raw or "", options.mean_of)))
        except AnswerError as exc:
            problems.append(str(exc))
    return result


# ---------------------------------------------------------------------------------------------------- writing


def _write(
    membership: Membership, parsed: _Parsed, file_name: str, digest: str, options: ImportOptions
) -> ImportResult:
    clinic_id = membership.clinic_id
    by_patient: dict[str, list[_Point]] = {}
    for point in parsed.points:
        by_patient.setdefault(point.patient, []).append(point)
    steps = [p.when for p in parsed.points if not isinstance(p.when, date)]  # ordinal files number their time points
    first_ordinal, last_ordinal = (min(steps, default=0), max(steps, default=0)) if parsed.ordinal else (0, 0)
    start = options.start_date or timezone.localdate() - timedelta(
        days=(last_ordinal - first_ordinal) * options.days_per_step
    )

    def day_of(point: _Point) -> date:
        if isinstance(point.when, date):
            return point.when
        return start + timedelta(days=(point.when - first_ordinal) * options.days_per_step)

    outcome_import = OutcomeImport.objects.create(
        clinic_id=clinic_id,
        imported_by=membership,
        file_name=file_name[:255],
        file_sha256=digest,
        condition=options.condition,
        options=options.as_json(),
    )
    mrns = {patient: options.mrn_prefix + patient for patient in by_patient}
    existing = dict(Patient.objects.filter(clinic_id=clinic_id, mrn__in=mrns.values()).values_list("mrn", "pk"))
    new_patients = [
        Patient(
            clinic_id=clinic_id,
            mrn=mrns[patient],
            given_name=IMPORTED_GIVEN_NAME,
            family_name=f"patient {patient}"[:100],
            search_name=normalise_name(f"patient {patient} {IMPORTED_GIVEN_NAME}"),
            search_given_first=normalise_name(f"{IMPORTED_GIVEN_NAME} patient {patient}"),
            date_of_birth=UNKNOWN_BIRTH_DATE,
        )
        for patient in by_patient
        if mrns[patient] not in existing
    ]
    Patient.objects.bulk_create(new_patients, batch_size=1000)
    patient_ids = dict(Patient.objects.filter(clinic_id=clinic_id, mrn__in=mrns.values()).values_list("mrn", "pk"))
    code = _icd10(options.condition)
    episodes = []
    for patient, points in by_patient.items():
        days = sorted(day_of(point) for point in points)
        episodes.append(
            Episode(
                clinic_id=clinic_id,
                patient_id=patient_ids[mrns[patient]],
                condition=options.condition,
                icd10_code=code,
                side=Episode.Side.CENTRAL,
                onset_date=days[0],
                goals="",
                status=Episode.Status.DISCHARGED,
                opened_by=membership,
                opened_at=_moment(days[0]),
                discharge_date=days[-1],
                discharge_reason="",
            )
        )
    Episode.objects.bulk_create(episodes, batch_size=1000)  # sets each new id (RETURNING on both databases)
    episode_ids = {episode.patient_id: episode.pk for episode in episodes}
    cohorts: dict[str, int] = {}
    observations, cohort_rows = [], []
    for patient, points in by_patient.items():
        patient_id = patient_ids[mrns[patient]]
        episode_id = episode_ids[patient_id]
        label = parsed.groups.get(patient, "")
        cohorts[label] = cohorts.get(label, 0) + 1
        cohort_rows.append(
            EpisodeCohort(clinic_id=clinic_id, episode_id=episode_id, outcome_import=outcome_import, label=label)
        )
        for point in points:
            label_of_time = _time_label(point, points, parsed, first_ordinal, last_ordinal)
            observations.append(
                _observation(membership, patient_id, episode_id, point, day_of(point), label_of_time, options)
            )
    EpisodeCohort.objects.bulk_create(cohort_rows, batch_size=1000)
    Observation.objects.bulk_create(observations, batch_size=1000)
    summary = {
        "rows_read": parsed.rows_read,
        "rows_left_out": parsed.left_out,
        "values_missing": parsed.missing_values,
        "patients_created": len(new_patients),
        "patients_matched": len(existing),
        "episodes": len(episodes),
        "observations": len(observations),
        "cohorts": cohorts,
    }
    OutcomeImport.objects.filter(pk=outcome_import.pk).update(summary=summary)
    outcome_import.summary = summary
    _audit(membership, outcome_import, patient_ids.values(), summary)
    time_points = (
        f"ordinals {first_ordinal} (baseline) to {last_ordinal} (final), placed {options.days_per_step} days apart "
        f"from {start.isoformat()}"
        if parsed.ordinal
        else "dates: each patient's first date is the baseline and the last the final value"
    )
    return ImportResult(
        outcome_import=outcome_import,
        rows_read=parsed.rows_read,
        rows_left_out=parsed.left_out,
        values_missing=parsed.missing_values,
        patients_created=len(new_patients),
        patients_matched=len(existing),
        episodes=len(episodes),
        observations=len(observations),
        cohorts=cohorts,
        time_points=time_points,
    )


def _time_label(point: _Point, points: list[_Point], parsed: _Parsed, first: int, last: int) -> str:
    if parsed.ordinal:
        if point.when == first:
            return "baseline"
        return "discharge" if point.when == last else "reassessment"
    times = sorted({p.when for p in points})
    if point.when == times[0]:
        return "baseline"
    return "discharge" if point.when == times[-1] else "reassessment"


def _observation(
    membership: Membership,
    patient_id: int,
    episode_id: int,
    point: _Point,
    day: date,
    time_point: str,
    options: ImportOptions,
) -> Observation:
    defn = instrument(point.code)
    return Observation(
        clinic_id=membership.clinic_id,
        patient_id=patient_id,
        episode_id=episode_id,
        instrument=defn.code,
        value=point.value,
        unit=defn.unit,
        observed_on=day,
        observed_at=_moment(day),
        time_point=time_point,
        source=options.source,
        recorded_by=membership,
        item_notes={"imported": f"line {point.line}"},
    )


def _moment(day: date) -> datetime:
    """Noon of ``day`` on the clinic's clock: the imported day stays that day in the report wherever the clinic is
    (noon UTC is already the next day east of UTC+12)."""
    return datetime.combine(day, time(12, 0), tzinfo=timezone.get_current_timezone())


def _icd10(condition: str) -> str:
    # Imported episodes are opened as central (no side), so an unspecified-side code where the condition is sided.
    code = default_icd10(condition, Episode.Side.CENTRAL)
    if code is None:
        raise ConditionDataError(f"{condition} has no ICD-10-CM code for an episode without a side")
    return code.code


def _audit(
    membership: Membership, outcome_import: OutcomeImport, patient_ids: Iterable[int], summary: dict[str, Any]
) -> None:
    """One entry for the import, and one 'create' entry per patient whose record it wrote to."""
    # Outside a request or a command (an import run from code), the importing member is the actor.
    actor = audit.current_actor()
    if actor is None or not actor.user_id:
        label = actor.label if actor else membership.user.username
        actor = audit.Actor(membership.user_id, membership.clinic_id, actor.via if actor else "cli", None, label)
    description = f"outcome import {outcome_import.file_name}"
    audit.record_many(actor, "create", outcome_import, patient_ids, summary=description)
    audit.record(
        "create",
        outcome_import,
        summary=f"{description}: {summary}",
        clinic_id=membership.clinic_id,
    )
