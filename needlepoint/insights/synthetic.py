"""A synthetic group of clinics for the evidence report and its benchmarks: `needlepoint synth`.

Each clinic gets clinicians, patients and episodes of care over the conditions clinics treat with dry needling,
3 to 8 signed visits per episode, outcomes at baseline and discharge, range of motion, adverse events, and a
discharge (or an episode still open at the end date). A share of episodes is treated without needling (exercise
and manual therapy only), as the comparison cohort.

Where the numbers come from (each constant below names its key in the project's references):

- the benefit of needling over other active physiotherapy is the published mean difference of §E, by condition
  (about half a point of pain for neck pain, none for headache); the natural course with other care is an
  assumption of this generator, stated as such, not a published figure;
- adverse events follow Brady 2014 (mild events per treatment, by type) and Boyce 2020 (major events, about 1
  per 1,024 sessions), §C.2;
- MCIDs, MDCs and normal range of motion come from the outcomes app's data files.

The data are made up and must never be read as evidence: they exist to exercise the report at scale. The same
seed and end date build the same clinics. Rows are written in bulk (COPY on PostgreSQL), one transaction for the
whole run, so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import DatabaseError, connection, models, transaction

from needlepoint.accounts.models import Clinic, Membership, User
from needlepoint.atlas.catalogue import muscles as atlas_muscles
from needlepoint.insights.bulk import BulkWriter, analyse, as_json, next_id, reset_sequences
from needlepoint.outcomes.models import Observation, RomMeasurement
from needlepoint.outcomes.rom import movements, rom_change
from needlepoint.outcomes.scoring import instrument
from needlepoint.patients.conditions import icd10_choices
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.demo import CONDITION_WEIGHTS  # the demo clinic's condition mix, an assumption
from needlepoint.patients.models import Consent, Episode, Patient, Screening, normalise_name
from needlepoint.patients.screening_rules import evaluate_screening, screening_items
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit

Progress = Callable[[str, int, int], None]

BATCH_EPISODES = 2_000
HISTORY_DAYS = 3 * 365
VISIT_COUNT_WEIGHTS = {3: 10, 4: 18, 5: 22, 6: 20, 7: 16, 8: 14}  # 3-6 sessions most often [S3]
NOT_NEEDLED_INTERVENTIONS = ["therapeutic_exercise", "manual_therapy"]
NEEDLED_INTERVENTIONS = ["therapeutic_exercise", "education"]

# Pain (NPRS 0-10). The fall by discharge with other active care is an ASSUMPTION of this generator (mean 2.0,
# SD 2.0 between patients); the extra fall with needling is the published difference against other active care.
USUAL_CARE_FALL = 2.0
FALL_SD = 2.0
NEEDLING_EXTRA_FALL = {
    "neck_pain": (0.51, "S83 Navarro-Santana 2020: pain MD -0.51 against manual therapy, short term"),
    "low_back_pain": (0.84, "S87: SMD -0.42 with other treatments, post-intervention, x pain SD 2"),
    "sciatica": (0.84, "treated as low back pain (S87)"),
    "tension_type_headache": (0.0, "S89 Pourahmadi 2021: pain not better than other interventions"),
    "migraine": (0.0, "S89 Pourahmadi 2021: mixed headache SMD -0.03"),
    "lateral_epicondylalgia": (0.95, "S91 Ma 2024: pain MD -0.95 within 1 week"),
    "tendinopathy": (0.0, "S92 Chys 2023: equal to other interventions"),
    "joint_spine_dysfunction": (0.0, "S92 Chys 2023: equal to other interventions"),
    "other": (0.0, "S92 Chys 2023: equal to other interventions"),
}
# Within one session: S83's immediate difference (-1.53 points) for needling; 1.0 point for manual therapy and
# exercise alone is an ASSUMPTION.
SESSION_FALL = {True: 1.53, False: 1.0}
SESSION_SD = 1.0
VISIT_SD = 0.8
MISSING_PAIN_AFTER = 0.06
MISSING_PAIN_BEFORE = 0.02

# Condition questionnaires (needlepoint/outcomes/data/condition_instruments.json) with an ASSUMED baseline
# distribution (mean, SD) and the step their totals move in; PSFS is asked in every episode.
QUESTIONNAIRES = {
    "NDI": (36.0, 12.0, 2.0),
    "ODI": (38.0, 14.0, 2.0),
    "HIT6": (62.0, 6.0, 1.0),
    "PRTEE": (52.0, 16.0, 0.5),
    "PSFS": (3.8, 1.5, 0.1),
}
CONDITION_QUESTIONNAIRE = {
    "neck_pain": "NDI",
    "low_back_pain": "ODI",
    "sciatica": "ODI",
    "tension_type_headache": "HIT6",
    "migraine": "HIT6",
    "lateral_epicondylalgia": "PRTEE",
}
# Range of motion measured per condition: (joint, movement, method). Wrist extension has no sourced MDC, so the
# report must say it cannot judge it against measurement error.
CONDITION_ROM = {
    "neck_pain": ("cervical_spine", "rotation", "crom"),
    "tension_type_headache": ("cervical_spine", "rotation", "crom"),
    "migraine": ("cervical_spine", "rotation", "crom"),
    "low_back_pain": ("thoracolumbar_spine", "flexion", "inclinometer"),
    "sciatica": ("thoracolumbar_spine", "flexion", "inclinometer"),
    "lateral_epicondylalgia": ("wrist", "extension", "goniometer"),
    "tendinopathy": ("shoulder", "flexion", "inclinometer"),
    "joint_spine_dysfunction": ("thoracolumbar_spine", "extension", "inclinometer"),
}

# Adverse events per needled session. Mild, by type: Brady 2014 [S1], at most one per visit.
MILD_EVENTS = {
    "bruising": 0.0755,
    "bleeding": 0.0465,
    "pain_during": 0.0301,
    "pain_after_24h": 0.0219,
    "symptom_aggravation": 0.0088,
    "drowsiness": 0.0026,
    "headache": 0.0014,
    "nausea": 0.0013,
}
SIGNIFICANT_RATE = 20 / 20464  # Boyce 2020 [S2]: 20 major events in 20,464 sessions
SIGNIFICANT_TYPES = {"vasovagal": 0.4, "symptom_aggravation": 0.4, "nerve_irritation": 0.2}
SERIOUS_RATE = 1 / 100_000  # AHPCSA guideline [S14]: pneumothorax "<1 in 100,000"
ACTION_TAKEN = {
    "mild": "Reassured; advice on after-care given.",
    "significant": "Needling stopped; monitored until settled; GP informed.",
    "serious": "Needling stopped; emergency services called; patient transferred to hospital.",
}

GOALS = {
    "neck_pain": "Turn the head fully when driving; sleep without neck pain.",
    "low_back_pain": "Sit through a working day with pain under 3/10.",
    "tension_type_headache": "Fewer than 4 headache days a month.",
    "migraine": "Halve monthly migraine days.",
    "lateral_epicondylalgia": "Grip a kettle and carry shopping without elbow pain.",
    "tendinopathy": "Return to running 5 km without pain the next morning.",
    "sciatica": "Walk 30 minutes without leg pain.",
    "joint_spine_dysfunction": "Full pain-free movement for daily tasks.",
    "other": "Reduce pain to allow normal daily activities.",
}
GIVEN = {
    "female": ("Olivia", "Emma", "Ava", "Sophia", "Mia", "Amelia", "Aisha", "Mei", "Fatima", "Ingrid", "Yara", "Amara"),
    "male": ("Liam", "Noah", "James", "Lucas", "Henry", "Omar", "Ravi", "Kenji", "Lars", "Diego", "Tomas", "Kofi"),
    "other": ("Alex", "Sam", "Robin", "Jordan", "Kai", "Rowan"),
}
FAMILY = (
    "Smith", "Garcia", "Nguyen", "Okafor", "Novak", "Haddad", "Tanaka", "Singh", "Rossi", "Dubois", "Jensen",
    "Silva", "Murphy", "Kim", "Patel", "Kowalski", "Brown", "Lee", "Walsh", "Costa",
)  # fmt: skip
TECHNIQUES = ("pistoning", "static", "electrical_stimulation", "rotation")
TWITCH = ("none", "single", "several")
CLINIC_NAMES = (
    "Harbourview Physio",
    "Northgate Spine & Sports",
    "Riverside Chiropractic",
    "Elm Street Physical Therapy",
    "Summit Movement Clinic",
    "Lakeside Rehab",
    "Old Town Physio",
    "Westfield Chiropractic",
)
SYNTHETIC_ADMIN_PASSWORD = "needlepoint-demo"

# The columns each batch names, in the order of the row tuples below; the rest take the model's defaults.
# Tables are written in this order. Needling entries go in before their visit: the visits were signed at the
# time, and the database refuses needling entries for a visit already stored as signed (foreign keys are
# checked at commit).
COLUMNS = {
    Patient: "id clinic_id mrn given_name family_name search_name search_given_first date_of_birth sex created_at",
    Screening: "id clinic_id patient_id answers status findings screened_by_id screened_at",
    Consent: "id clinic_id patient_id text_id signed_name signed_at recorded_by_id",
    Episode: "id clinic_id patient_id condition icd10_code side onset_date goals status opened_by_id opened_at "
    "discharge_date discharge_reason",
    NeedlingEntry: "id clinic_id patient_id visit_id position muscle_id side needles diameter_mm length_mm technique "
    "twitch_response minutes_left_in recorded_by_id recorded_at",
    Visit: "id clinic_id patient_id episode_id clinician_id started_at pain_before pain_after interventions "
    "needles_opened needles_inserted needles_removed needles_in_sharps cpt_code cpt_muscle_count note_text "
    "signed_at signed_by_id created_at",
    Observation: "id clinic_id patient_id episode_id visit_id instrument value unit observed_on observed_at "
    "time_point source recorded_by_id created_at",
    RomMeasurement: "id clinic_id patient_id episode_id visit_id joint movement side degrees method normal_degrees "
    "percent_of_normal observed_on observed_at time_point recorded_by_id created_at",
    AdverseEvent: "id clinic_id patient_id visit_id event_type severity onset_at action_taken outcome "
    "recorded_by_id recorded_at closed_at closed_by_id",
}
TABLE_NAMES = {
    Patient: "patients",
    Screening: "screenings",
    Consent: "consents",
    Episode: "episodes",
    Visit: "visits",
    NeedlingEntry: "needling_entries",
    Observation: "observations",
    RomMeasurement: "rom_measurements",
    AdverseEvent: "adverse_events",
}


class SyntheticError(ValueError):
    """The synthetic clinics cannot be generated as asked; the message says why."""


@dataclass
class Summary:
    """What a run created, and how fast."""

    clinics: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    checks_deferred_to_generator: bool = False

    @property
    def total_rows(self) -> int:
        """Rows written in all tables."""
        return sum(self.rows.values())

    def rate(self, table: str = "visits") -> float:
        """Rows of ``table`` written per second."""
        return self.rows.get(table, 0) / self.seconds if self.seconds else 0.0


@dataclass
class _Clinician:
    membership_id: int
    needling_share: float
    technique_weights: tuple[float, ...]


@dataclass
class _ClinicPlan:
    clinic: Clinic
    clinicians: list[_Clinician]
    consent_text_id: int
    episodes: int
    next_mrn: int


def generate(
    clinics: int,
    episodes: int,
    seed: int,
    *,
    end_date: date | None = None,
    needled_share: float = 0.75,
    progress: Progress | None = None,
) -> Summary:
    """Generate ``clinics`` clinics with ``episodes`` episodes of care in all, deterministically for ``seed``.

    Refuses (SyntheticError, nothing written) when clinics of this seed already exist or the sizes make no sense.
    """
    if not 1 <= clinics <= 50:
        raise SyntheticError("Choose between 1 and 50 clinics.")
    if not clinics <= episodes <= 10_000_000:
        raise SyntheticError("Choose at least one episode per clinic and at most 10,000,000 episodes.")
    if not 0 <= needled_share <= 1:
        raise SyntheticError("The needled share must lie between 0 and 1.")
    slugs = [_slug(seed, k) for k in range(clinics)]
    if Clinic.objects.filter(slug__in=slugs).exists():
        raise SyntheticError(
            f"Synthetic clinics of seed {seed} already exist ({slugs[0]}…); choose another --seed or a fresh database."
        )
    end = end_date or date.today()
    rng = random.Random(seed)
    started = time.perf_counter()
    summary = Summary()
    report = progress or (lambda *_: None)
    with transaction.atomic():
        summary.checks_deferred_to_generator = _skip_row_triggers()
        plans = _create_clinics(rng, seed, clinics, episodes, summary)
        _Generator(rng, plans, end, needled_share, summary, report).run(episodes)
        if summary.checks_deferred_to_generator:
            # Triggers on again for whatever follows in an enclosing transaction (a test's, say): the signed-visit
            # rules and the summary's change log must see every later write.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
    summary.seconds = time.perf_counter() - started
    return summary


def _skip_row_triggers() -> bool:
    """On PostgreSQL, skip per-row trigger work (foreign-key checks) for this transaction when allowed.

    Checking millions of freshly generated foreign keys one row at a time doubles the run time, and every id
    here is one the generator has just assigned itself. ``session_replication_role`` needs a superuser (or the
    SET privilege); without it the checks simply run. The tests check every reference of the generated rows.
    """
    if connection.vendor != "postgresql":
        return False
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def _slug(seed: int, index: int) -> str:
    return f"synth-s{seed}-{index + 1}"


def _create_clinics(rng: random.Random, seed: int, count: int, episodes: int, summary: Summary) -> list[_ClinicPlan]:
    sizes = [rng.uniform(0.5, 1.5) for _ in range(count)]
    shares = [round(episodes * size / sum(sizes)) for size in sizes]
    shares[-1] = episodes - sum(shares[:-1])
    plans = []
    for index in range(count):
        name = CLINIC_NAMES[index % len(CLINIC_NAMES)] + (f" {index // len(CLINIC_NAMES) + 1}" if index >= 8 else "")
        clinic = Clinic.objects.create(
            name=f"{name} (synthetic)",
            slug=_slug(seed, index),
            mrn_prefix=f"S{index + 1}"[:6],
            # Synthetic clinics are for demonstration: their owners sign in with the printed password alone.
            two_factor_policy=Clinic.TwoFactorPolicy.DEMO_NOT_REQUIRED,
        )
        admin = _user(f"synth{seed}-admin{index + 1}", "Clinic", f"Owner {index + 1}", usable=True)
        Membership.objects.create(user=admin, clinic=clinic, role="clinic_admin")
        summary.logins.append(admin.username)
        clinicians = []
        for number in range(rng.randint(3, 8)):
            user = _user(f"synth{seed}-c{index + 1}-{number + 1}", rng.choice(GIVEN["other"]), rng.choice(FAMILY))
            profession = "physical_therapist" if number % 3 else "chiropractor"
            membership = Membership.objects.create(
                user=user,
                clinic=clinic,
                role="clinician",
                profession=profession,
                licence_number=f"{'PT' if profession == 'physical_therapist' else 'DC'}-{rng.randint(10000, 99999)}",
            )
            weights = (rng.uniform(3, 7), rng.uniform(1, 4), rng.uniform(0, 2), rng.uniform(0, 1))
            clinicians.append(_Clinician(membership.pk, rng.uniform(0.55, 0.95), weights))
        text = current_consent_text(clinic)
        plans.append(_ClinicPlan(clinic, clinicians, text.pk, shares[index], 1))
        summary.clinics.append(clinic.slug)
    return plans


def _user(username: str, first: str, last: str, *, usable: bool = False) -> User:
    user = User(username=username, first_name=first, last_name=last, email=f"{username}@example.org")
    if usable:
        user.set_password(SYNTHETIC_ADMIN_PASSWORD)
    else:
        user.set_unusable_password()
    user.save()
    return user


@cache
def _muscles_by_condition() -> dict[str, tuple[tuple[str, bool], ...]]:
    """(muscle id, over the thorax) of the atlas muscles listed for each condition."""
    found: dict[str, list[tuple[str, bool]]] = {}
    for muscle in atlas_muscles().values():
        for condition in muscle.conditions:
            found.setdefault(condition, []).append((muscle.id, muscle.hazard.over_thorax))
    return {condition: tuple(items) for condition, items in found.items()}


@cache
def _movement(joint: str, name: str) -> tuple[float, float, float, bool, float | None]:
    """(normal, minimum, maximum, sided, MDC) of a movement, from the outcomes app's ROM data."""
    for move in movements():
        if move.joint == joint and move.movement == name:
            method = CONDITION_ROM_METHOD[(joint, name)]
            mdc = rom_change(joint, name, method, move.normal, move.normal, "left" if move.sided else None).mdc
            return move.normal, move.minimum, move.maximum, move.sided, mdc
    raise SyntheticError(f"Unknown movement {joint} {name}.")


CONDITION_ROM_METHOD = {(joint, name): method for joint, name, method in CONDITION_ROM.values()}


class _Generator:
    """Writes episodes batch by batch; every random draw comes from one seeded stream, in a fixed order."""

    def __init__(
        self,
        rng: random.Random,
        plans: list[_ClinicPlan],
        end: date,
        needled_share: float,
        summary: Summary,
        progress: Progress,
    ) -> None:
        self.rng = rng
        self.plans = plans
        self.end = end
        self.end_moment = datetime(end.year, end.month, end.day, 23, 59, tzinfo=UTC)
        self.needled_share = needled_share
        self.summary = summary
        self.progress = progress
        self.conditions = list(CONDITION_WEIGHTS)
        self.condition_weights = list(CONDITION_WEIGHTS.values())
        self.visit_counts = list(VISIT_COUNT_WEIGHTS)
        self.visit_count_weights = list(VISIT_COUNT_WEIGHTS.values())
        answers = {item.code: "no" for item in screening_items()}
        result = evaluate_screening(answers)
        self.screening = (as_json(answers), result.status, as_json([asdict(f) for f in result.findings]))
        self.mild_total = sum(MILD_EVENTS.values())
        self.units = {code: instrument(code).unit for code in [*QUESTIONNAIRES, "NPRS"]}
        self.ids = {model: next_id(model) for model in COLUMNS}
        self.writers = {model: BulkWriter(model, columns.split()) for model, columns in COLUMNS.items()}
        self.rows: dict[type[models.Model], list[tuple[Any, ...]]] = {model: [] for model in self.writers}

    def run(self, total: int) -> None:
        done = 0
        for plan in self.plans:
            for start in range(0, plan.episodes, BATCH_EPISODES):
                count = min(BATCH_EPISODES, plan.episodes - start)
                for _ in range(count):
                    self._episode(plan)
                self._flush()
                done += count
                self.progress("episodes", done, total)
            Clinic.objects.filter(pk=plan.clinic.pk).update(next_mrn_number=plan.next_mrn)
        reset_sequences(*self.writers)
        analyse(*self.writers)
        self.summary.rows = {TABLE_NAMES[model]: writer.rows_written for model, writer in self.writers.items()}

    def _flush(self) -> None:
        for model, writer in self.writers.items():
            writer.write(self.rows[model])
            self.rows[model] = []

    def _take_id(self, model: type[models.Model]) -> int:
        value = self.ids[model]
        self.ids[model] = value + 1
        return value

    # ------------------------------------------------------------------ one episode

    def _episode(self, plan: _ClinicPlan) -> None:
        rng = self.rng
        clinician = rng.choice(plan.clinicians)
        needled = rng.random() < min(1.0, clinician.needling_share * self.needled_share / 0.75)
        condition = rng.choices(self.conditions, self.condition_weights)[0]
        side = _side(rng, condition)
        opened = self.end_moment - timedelta(days=rng.uniform(1, HISTORY_DAYS))
        opened = opened.replace(hour=rng.randint(8, 17), minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0)
        patient_id = self._patient(plan, clinician, needled, opened)
        episode_id = self._take_id(Episode)
        context = (plan.clinic.pk, patient_id, episode_id, clinician.membership_id)

        baseline = _clip(round(rng.gauss(6.2, 1.6)), 2, 10)
        extra = NEEDLING_EXTRA_FALL[condition][0] if needled else 0.0
        final = _clip(round(baseline - rng.gauss(USUAL_CARE_FALL + extra, FALL_SD)), 0, 10)
        planned = rng.choices(self.visit_counts, self.visit_count_weights)[0]
        self_discharged = rng.random() < 0.10
        referred = not self_discharged and rng.random() < 0.04

        moments = [opened]
        for _ in range(planned - 1):
            moments.append(moments[-1] + timedelta(days=rng.randint(3, 10), hours=rng.randint(-2, 2)))
        held = [moment for moment in moments if moment <= self.end_moment]
        still_open = len(held) < planned
        visit_ids = [self._take_id(Visit) for _ in held]
        baseline_recorded = self._visits(
            context, clinician, needled, condition, side, held, visit_ids, baseline, final, planned
        )

        last = held[-1]
        followed_up = not still_open and not self_discharged
        status, discharge_date, reason = "open", None, ""
        if not still_open:
            status = "discharged"
            if self_discharged:
                reason, discharge_date = "self_discharged", min((last + timedelta(days=14)).date(), self.end)
            elif referred:
                reason, discharge_date = "referred_on", last.date()
            else:
                met = baseline - final >= 2 and final <= 4 and rng.random() < 0.92
                reason, discharge_date = ("goals_met" if met else "plateau"), last.date()
        self.rows[Episode].append(
            (
                episode_id,
                plan.clinic.pk,
                patient_id,
                condition,
                _icd10(rng, condition, side),
                side,
                (opened - timedelta(days=rng.randint(14, 400))).date(),
                GOALS[condition],
                status,
                clinician.membership_id,
                opened,
                discharge_date,
                reason,
            )
        )
        if baseline_recorded:
            self._observation(context, visit_ids[0], "NPRS", float(baseline), held[0], "baseline")
        if followed_up:
            self._observation(context, visit_ids[-1], "NPRS", float(final), last, "discharge")
        improvement = (baseline - final) / baseline
        codes = [CONDITION_QUESTIONNAIRE[condition]] if condition in CONDITION_QUESTIONNAIRE else []
        for code in [*codes, "PSFS"]:
            self._questionnaire(context, code, improvement, held, visit_ids, followed_up)
        if condition in CONDITION_ROM:
            self._rom(context, condition, side, improvement, held, visit_ids, followed_up)

    def _patient(self, plan: _ClinicPlan, clinician: _Clinician, needled: bool, opened: datetime) -> int:
        rng = self.rng
        patient_id = self._take_id(Patient)
        sex = rng.choices(("female", "male", "other"), (52, 46, 2))[0]
        given, family = rng.choice(GIVEN[sex]), rng.choice(FAMILY)
        birth = (opened - timedelta(days=rng.randint(18 * 365, 84 * 365))).date()
        mrn = f"{plan.clinic.mrn_prefix}-{plan.next_mrn:07d}"
        self.rows[Patient].append(
            (
                patient_id,
                plan.clinic.pk,
                mrn,
                given,
                family,
                normalise_name(f"{family} {given}"),
                normalise_name(f"{given} {family}"),
                birth,
                sex,
                opened,
            )
        )
        plan.next_mrn += 1
        if needled:
            answers, status, findings = self.screening
            self.rows[Screening].append(
                (
                    self._take_id(Screening),
                    plan.clinic.pk,
                    patient_id,
                    answers,
                    status,
                    findings,
                    clinician.membership_id,
                    opened - timedelta(minutes=20),
                )
            )
            self.rows[Consent].append(
                (
                    self._take_id(Consent),
                    plan.clinic.pk,
                    patient_id,
                    plan.consent_text_id,
                    f"{given} {family}",
                    opened - timedelta(minutes=15),
                    clinician.membership_id,
                )
            )
        return patient_id

    def _visits(
        self,
        context: tuple[int, int, int, int],
        clinician: _Clinician,
        needled: bool,
        condition: str,
        side: str,
        moments: list[datetime],
        visit_ids: list[int],
        baseline: int,
        final: int,
        planned: int,
    ) -> bool:
        """Write the visits, pain drifting from ``baseline`` towards ``final``; True when visit 1's pain was kept."""
        rng = self.rng
        baseline_recorded = True
        for index, (moment, visit_id) in enumerate(zip(moments, visit_ids, strict=True)):
            share = (index / (planned - 1)) ** 0.8
            drift = baseline - (baseline - final) * share + rng.gauss(0, VISIT_SD)
            before = baseline if index == 0 else _clip(round(drift), 0, 10)
            after = _clip(round(before - rng.gauss(SESSION_FALL[needled], SESSION_SD)), 0, 10)
            kept_before = None if rng.random() < MISSING_PAIN_BEFORE else before
            kept_after = None if rng.random() < MISSING_PAIN_AFTER else after
            if index == 0:
                baseline_recorded = kept_before is not None
            self._visit(context, clinician, visit_id, moment, needled, condition, side, kept_before, kept_after)
        return baseline_recorded

    def _visit(
        self,
        context: tuple[int, int, int, int],
        clinician: _Clinician,
        visit_id: int,
        moment: datetime,
        needled: bool,
        condition: str,
        side: str,
        pain_before: int | None,
        pain_after: int | None,
    ) -> None:
        rng = self.rng
        clinic_id, patient_id, episode_id, clinician_id = context
        inserted = muscles = 0
        if needled:
            inserted, muscles = self._needling(context, clinician, visit_id, moment, condition, side)
            self._adverse_events(context, visit_id, moment)
        cpt = "" if not muscles else ("20560" if muscles <= 2 else "20561")
        signed = moment + timedelta(minutes=rng.randint(30, 90))
        interventions = NEEDLED_INTERVENTIONS if needled else NOT_NEEDLED_INTERVENTIONS
        self.rows[Visit].append(
            (
                visit_id,
                clinic_id,
                patient_id,
                episode_id,
                clinician_id,
                moment,
                pain_before,
                pain_after,
                as_json(interventions),
                inserted,
                inserted,
                inserted,
                inserted,
                cpt,
                muscles or None,
                "Synthetic visit (needlepoint synth).",
                signed,
                clinician_id,
                moment,
            )
        )

    def _needling(
        self,
        context: tuple[int, int, int, int],
        clinician: _Clinician,
        visit_id: int,
        moment: datetime,
        condition: str,
        side: str,
    ) -> tuple[int, int]:
        """Write one visit's needling entries; returns (needles inserted, muscles needled)."""
        rng = self.rng
        clinic_id, patient_id, _, clinician_id = context
        candidates = _muscles_by_condition().get(condition) or _muscles_by_condition()["other"]
        chosen = rng.sample(candidates, min(len(candidates), rng.choices((1, 2, 3, 4), (30, 35, 22, 13))[0]))
        needles_total = 0
        for position, (muscle, over_thorax) in enumerate(chosen):
            technique = rng.choices(TECHNIQUES, clinician.technique_weights)[0]
            needles = rng.choice((1, 1, 2, 2, 3))
            needles_total += needles
            sided = side if side in ("left", "right") else rng.choice(("left", "right"))
            length = rng.choice(("25.0", "30.0")) if over_thorax else rng.choice(("30.0", "40.0", "50.0"))
            self.rows[NeedlingEntry].append(
                (
                    self._take_id(NeedlingEntry),
                    clinic_id,
                    patient_id,
                    visit_id,
                    position,
                    muscle,
                    sided,
                    needles,
                    Decimal(rng.choice(("0.25", "0.30"))),
                    Decimal(length),
                    technique,
                    rng.choices(TWITCH, (3, 4, 2))[0],
                    rng.choice((10, 15, 20)) if technique in ("static", "electrical_stimulation") else None,
                    clinician_id,
                    moment + timedelta(minutes=10 + position),
                )
            )
        return needles_total, len(chosen)

    def _adverse_events(self, context: tuple[int, int, int, int], visit_id: int, moment: datetime) -> None:
        rng = self.rng
        draw = rng.random()
        events: list[tuple[str, str]] = []
        if draw < self.mild_total:
            events.append((_pick(MILD_EVENTS, draw), "mild"))
        if rng.random() < SIGNIFICANT_RATE:
            events.append((rng.choices(list(SIGNIFICANT_TYPES), list(SIGNIFICANT_TYPES.values()))[0], "significant"))
        if rng.random() < SERIOUS_RATE:
            events.append(("suspected_pneumothorax", "serious"))
        clinic_id, patient_id, _, clinician_id = context
        for event_type, severity in events:
            onset = moment + timedelta(minutes=rng.randint(5, 40))
            self.rows[AdverseEvent].append(
                (
                    self._take_id(AdverseEvent),
                    clinic_id,
                    patient_id,
                    visit_id,
                    event_type,
                    severity,
                    onset,
                    ACTION_TAKEN[severity],
                    "resolved",
                    clinician_id,
                    onset,
                    onset + timedelta(days=rng.randint(1, 7)),
                    clinician_id,
                )
            )

    def _observation(
        self,
        context: tuple[int, int, int, int],
        visit_id: int,
        code: str,
        value: float,
        moment: datetime,
        time_point: str,
    ) -> None:
        clinic_id, patient_id, episode_id, clinician_id = context
        at = moment + timedelta(minutes=5)
        self.rows[Observation].append(
            (
                self._take_id(Observation),
                clinic_id,
                patient_id,
                episode_id,
                visit_id,
                code,
                value,
                self.units[code],
                at.date(),
                at,
                time_point,
                "clinician",
                clinician_id,
                at,
            )
        )

    def _questionnaire(
        self,
        context: tuple[int, int, int, int],
        code: str,
        improvement: float,
        moments: list[datetime],
        visit_ids: list[int],
        followed_up: bool,
    ) -> None:
        rng = self.rng
        defn = instrument(code)
        low, high = defn.scale_range
        mean, sd, step = QUESTIONNAIRES[code]
        start = _step(_clip(rng.gauss(mean, sd), low, high), step)
        worse_is_higher = defn.direction == "higher_is_worse"
        room = (start - low) if worse_is_higher else (high - start)
        noise_sd = (defn.mcid.value if defn.mcid else sd) / 2

        def later(share: float) -> float:
            moved = room * 0.9 * improvement * share + rng.gauss(0, noise_sd)
            return _step(_clip(start - moved if worse_is_higher else start + moved, low, high), step)

        self._observation(context, visit_ids[0], code, start, moments[0], "baseline")
        if len(moments) >= 6:
            self._observation(context, visit_ids[3], code, later(0.6), moments[3], "reassessment")
        if followed_up:
            self._observation(context, visit_ids[-1], code, later(1.0), moments[-1], "discharge")

    def _rom(
        self,
        context: tuple[int, int, int, int],
        condition: str,
        side: str,
        improvement: float,
        moments: list[datetime],
        visit_ids: list[int],
        followed_up: bool,
    ) -> None:
        rng = self.rng
        joint, name, method = CONDITION_ROM[condition]
        normal, minimum, maximum, sided, mdc = _movement(joint, name)
        measured_side = (side if side in ("left", "right") else rng.choice(("left", "right"))) if sided else ""
        start = round(normal * rng.uniform(0.45, 0.8))
        share = _clip(improvement * 1.1 + rng.gauss(0, 0.2), -0.3, 1.1)
        end = round(_clip(start + (normal - start) * share + rng.gauss(0, (mdc or 6.0) * 0.4), minimum, maximum))
        points = [(0, start, "baseline")] + ([(len(moments) - 1, end, "discharge")] if followed_up else [])
        clinic_id, patient_id, episode_id, clinician_id = context
        for index, degrees, time_point in points:
            at = moments[index] + timedelta(minutes=8)
            self.rows[RomMeasurement].append(
                (
                    self._take_id(RomMeasurement),
                    clinic_id,
                    patient_id,
                    episode_id,
                    visit_ids[index],
                    joint,
                    name,
                    measured_side,
                    float(degrees),
                    method,
                    normal,
                    degrees / normal * 100,
                    at.date(),
                    at,
                    time_point,
                    clinician_id,
                    at,
                )
            )


def _pick(weights: dict[str, float], draw: float) -> str:
    """The key whose slice of the cumulative weights holds ``draw`` (``draw`` below the total)."""
    running = 0.0
    for key, weight in weights.items():
        running += weight
        if draw < running:
            return key
    return key


def _side(rng: random.Random, condition: str) -> str:
    if condition in ("lateral_epicondylalgia", "tendinopathy", "sciatica"):
        return rng.choice(("left", "right"))
    if condition in ("neck_pain", "low_back_pain", "tension_type_headache", "migraine"):
        return rng.choice(("central", "bilateral", "left", "right"))
    return rng.choice(("left", "right", "central"))


def _icd10(rng: random.Random, condition: str, side: str) -> str:
    return rng.choice(icd10_choices(condition, side)).code


def _clip(value: float, low: float, high: float) -> Any:
    return low if value < low else high if value > high else value


def _step(value: float, step: float) -> float:
    return round(round(value / step) * step, 6)
