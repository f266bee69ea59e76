"""Demo step 1: the clinic, its staff, and patients with screenings, consents and episodes of care."""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from needlepoint.accounts.models import Clinic, Membership, User
from needlepoint.patients.conditions import icd10_choices
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import (
    Consent,
    Episode,
    Patient,
    PatientIdentifier,
    Screening,
    normalise_name,
    phone_digits,
)
from needlepoint.patients.screening_rules import evaluate_screening, screening_items

DEMO_PASSWORD = "needlepoint-demo"
# Patients who get a full clinical history (assessments, visits, outcomes). A demo is for clicking through;
# beyond this many, patients get intake records only, and `needlepoint synth` builds visit volume for analytics.
FULL_HISTORY_PATIENTS = 3000
# The coded demographics of the first demo patients (fixed, drawing nothing from the generator, so the rest of the
# demo is unchanged): a full record, a patient of two races who declined ethnicity, and one who declined race.
DEMOGRAPHICS_BY_POSITION: dict[int, dict[str, Any]] = {
    0: {
        "name_prefix": "Dr.",
        "address": "27 Fore Street\nApartment 3",
        "address_city": "Portland",
        "address_state": "ME",
        "address_postal_code": "04101",
        "address_country": "US",
        "marital_status": "M",
        "race_codes": ["2106-3"],
        "race_text": "White",
        "ethnicity_code": "2186-5",
        "ethnicity_text": "Not Hispanic or Latino",
    },
    1: {
        "address": "9 Commercial Street",
        "address_city": "Portland",
        "address_state": "ME",
        "address_postal_code": "04101",
        "address_country": "US",
        "marital_status": "S",
        "race_codes": ["2028-9", "2106-3"],
        "race_text": "Korean and Irish",
        "ethnicity_code": "ASKU",
    },
    2: {"marital_status": "W", "race_codes": ["ASKU"], "ethnicity_code": "ASKU"},
}
BIRTH_SEX_BY_SEX = {"female": "F", "male": "M", "other": "UNK"}
# The first demo patient's numbers from other systems: an invented Social Security number in the 999 area (as
# Synthea's synthetic ones are) and a previous clinic's MRN, to show how the page names and masks them.
DEMO_IDENTIFIERS = [
    {
        "system": "http://hl7.org/fhir/sid/us-ssn",
        "value": "999-40-1234",
        "type_system": "http://terminology.hl7.org/CodeSystem/v2-0203",
        "type_code": "SS",
        "type_display": "Social Security number",
        "type_text": "Social Security number",
    },
    {
        "system": "https://previous-clinic.example.org/mrn",
        "value": "PC-20417",
        "type_system": "http://terminology.hl7.org/CodeSystem/v2-0203",
        "type_code": "MR",
        "type_display": "Medical record number",
        "type_text": "Previous clinic's MRN",
    },
]

DEMO_USERS: list[dict[str, str]] = [
    {
        "username": "pt",
        "first": "Maya",
        "last": "Okafor",
        "role": "clinician",
        "profession": "physical_therapist",
        "licence": "PT-40213",
        "describe": "clinician (physical therapist)",
    },
    {
        "username": "chiro",
        "first": "Daniel",
        "last": "Reyes",
        "role": "clinician",
        "profession": "chiropractor",
        "licence": "DC-11872",
        "describe": "clinician (chiropractor)",
    },
    {
        "username": "desk",
        "first": "Priya",
        "last": "Shah",
        "role": "front_desk",
        "profession": "",
        "licence": "",
        "describe": "front desk",
    },
    {
        "username": "admin",
        "first": "Helen",
        "last": "Brooks",
        "role": "clinic_admin",
        "profession": "",
        "licence": "",
        "describe": "clinic admin",
    },
]
OTHER_CLINIC_USER = {
    "username": "northside",
    "first": "Sam",
    "last": "Lindqvist",
    "role": "clinician",
    "profession": "physical_therapist",
    "licence": "PT-77001",
}

# Given names by the sex recorded, so a demo record reads true (a few "other" take either list).
GIVEN_FEMALE = [
    "Olivia",
    "Emma",
    "Ava",
    "Sophia",
    "Isabella",
    "Mia",
    "Charlotte",
    "Amelia",
    "Harper",
    "Evelyn",
    "Abigail",
    "Emily",
    "Ella",
    "Grace",
    "Chloe",
    "Zoe",
    "Nora",
    "Aisha",
    "Mei",
    "Fatima",
    "Ingrid",
    "Sofia",
    "Anika",
    "Yara",
    "Amara",
]
GIVEN_MALE = [
    "Liam",
    "Noah",
    "Elijah",
    "James",
    "William",
    "Benjamin",
    "Lucas",
    "Henry",
    "Alexander",
    "Daniel",
    "Michael",
    "Ethan",
    "Sebastian",
    "Jack",
    "Owen",
    "Leo",
    "Mateo",
    "Ravi",
    "Kenji",
    "Omar",
    "Lars",
    "Diego",
    "Tomas",
    "Chen",
    "Kofi",
]
FAMILY = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Okoye",
    "Novak",
    "Kowalski",
    "Haddad",
    "Tanaka",
    "Singh",
    "Muller",
    "Rossi",
    "Dubois",
    "Jensen",
    "Costa",
    "Silva",
    "Murphy",
    "O'Brien",
    "Kelly",
    "Byrne",
    "Walsh",
    "Patel",
    "Kim",
    "Park",
    "Cho",
]

# Condition mix of a dry-needling caseload (neck and low back dominate), weights sum to 100: an assumption, shared
# by the synthetic clinics (insights/synthetic.py).
CONDITION_WEIGHTS = {
    "neck_pain": 26,
    "low_back_pain": 24,
    "tension_type_headache": 9,
    "migraine": 6,
    "lateral_epicondylalgia": 9,
    "tendinopathy": 6,
    "sciatica": 10,
    "joint_spine_dysfunction": 7,
    "other": 3,
}
GOALS = {
    "neck_pain": "Turn head fully to check blind spot when driving; sleep through the night without neck pain.",
    "low_back_pain": "Sit through a working day with pain under 3/10; lift a child without pain.",
    "tension_type_headache": "Fewer than 4 headache days a month; work at the computer for 2 hours.",
    "migraine": "Halve monthly migraine days; no missed work days from headache.",
    "lateral_epicondylalgia": "Grip a kettle and carry shopping without elbow pain.",
    "tendinopathy": "Return to running 5 km without pain the next morning.",
    "sciatica": "Walk 30 minutes without leg pain; sit for an hour.",
    "joint_spine_dysfunction": "Full pain-free movement for daily tasks.",
    "other": "Reduce pain to allow normal daily activities.",
}
BATCH = 2000
ACKNOWLEDGEMENT_NOTE = "Discussed with patient; needling adjusted: superficial, avoid the affected side, no e-stim."
# Patients the demo always shows, by their position in the clinic (the first batch): a thin adult whose
# thorax needling warns at any length, a pregnant patient in her second trimester, and a 15-year-old
# consented for by a parent with her own assent.
THIN_PATIENT, PREGNANT_PATIENT, MINOR_PATIENT = 1, 2, 3
MINOR_AGE = 15
# Adult heights by sex recorded (mean, SD in cm) and a BMI spread typical of a clinic caseload; the thin
# patient is below the WHO underweight cut-off (18.5) and everyone else above it.
HEIGHT_CM = {"female": (163.0, 7.0), "male": (177.0, 7.5), "other": (170.0, 9.0), "unknown": (170.0, 9.0)}
THIN_BMI = 17.4


def build(context: Any) -> None:
    """Create the clinic and staff if missing, then add patients up to the target count."""
    with transaction.atomic():
        # The demo clinics do not require two-factor sign-in, so the README's demo logins work with a password
        # alone; a real clinic requires it of its admins at least (accounts.Clinic.two_factor_policy).
        demo_policy = Clinic.TwoFactorPolicy.DEMO_NOT_REQUIRED
        clinic, _ = Clinic.objects.get_or_create(
            slug="demo",
            defaults={
                "name": "Harbour Street Physio & Chiropractic",
                "mrn_prefix": "HS",
                "two_factor_policy": demo_policy,
                # Its first patient shows a (fictional) Social Security number kept from another system, masked.
                "keep_social_security_numbers": True,
            },
        )
        if not clinic.phone:
            # A fictional letterhead: a 555-01xx number and the example.org domain reserved for examples.
            clinic.address = "14 Harbour Street\nPortland, ME 04101"
            clinic.phone = "(207) 555-0142"
            clinic.email = "frontdesk@harbour-street.example.org"
            clinic.website = "https://harbour-street.example.org"
            clinic.save(update_fields=["address", "phone", "email", "website"])
        context.clinic = clinic
        for spec in DEMO_USERS:
            context.memberships[spec["username"]] = _ensure_user(clinic, spec)
        other, _ = Clinic.objects.get_or_create(
            slug="northside",
            defaults={"name": "Northside Sports Clinic", "mrn_prefix": "NS", "two_factor_policy": demo_policy},
        )
        _ensure_user(other, OTHER_CLINIC_USER | {"describe": ""})
        current_consent_text(clinic)
    existing = Patient.objects.filter(clinic=clinic).count()
    missing = max(0, context.target_patients - existing)
    context.summary["patients_existing"] = existing
    context.summary["patients_added"] = missing
    if not missing:
        return
    # Advance the generator past patients already built, so extending a clinic stays deterministic.
    context.rng.seed(f"{context.seed}:{existing}")
    for start in range(0, missing, BATCH):
        count = min(BATCH, missing - start)
        with transaction.atomic():
            _add_patients(context, clinic, existing + start, count)
        context.progress("patients", start + count, missing)
    _refresh_planner_statistics()


def _refresh_planner_statistics() -> None:
    """After a bulk load, give PostgreSQL's planner the new row counts (autovacuum may be off or late), before the
    next steps read these tables; needlepoint.demo.build_demo refreshes every table again once all have loaded.

    With statistics from before the load, the planner takes the new clinic for a few rows and filters all of
    them through the clinic index: patient search went from under 1 ms to 12-35 ms at 100,000 patients.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient, patients_screening, patients_consent, patients_episode")


def _ensure_user(clinic: Clinic, spec: dict[str, str]) -> Membership:
    user = User.objects.filter(username=spec["username"]).first()
    if user is None:
        user = User(
            username=spec["username"],
            first_name=spec["first"],
            last_name=spec["last"],
            email=f"{spec['username']}@example.org",
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
    membership, _ = Membership.objects.get_or_create(
        user=user,
        clinic=clinic,
        defaults={"role": spec["role"], "profession": spec["profession"], "licence_number": spec["licence"]},
    )
    return membership


def _add_patients(context: Any, clinic: Clinic, first_index: int, count: int) -> None:
    rng = context.rng
    today = timezone.localdate()
    clinicians = [context.memberships["pt"], context.memberships["chiro"]]
    locked = Clinic.objects.select_for_update(no_key=True).get(pk=clinic.pk)
    first_number = locked.next_mrn_number
    Clinic.objects.filter(pk=clinic.pk).update(next_mrn_number=first_number + count)
    patients = []
    for offset in range(count):
        position = first_index + offset
        sex = rng.choice(["female", "male", "female", "male", "other"])
        if position in (PREGNANT_PATIENT, MINOR_PATIENT):
            sex = "female"
        names = GIVEN_MALE if sex == "male" else GIVEN_FEMALE if sex == "female" else GIVEN_FEMALE + GIVEN_MALE
        given, family = rng.choice(names), rng.choice(FAMILY)
        birth = today - timedelta(days=rng.randint(19 * 365, 84 * 365))
        if position == PREGNANT_PATIENT:
            birth = today - timedelta(days=rng.randint(24 * 365, 38 * 365))
        elif position == MINOR_PATIENT:
            birth = today - timedelta(days=MINOR_AGE * 365 + rng.randint(10, 300))
        phone = f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        patients.append(
            Patient(
                clinic=clinic,
                mrn=f"{clinic.mrn_prefix}-{first_number + offset:07d}",
                given_name=given,
                family_name=family,
                search_name=normalise_name(f"{family} {given}"),
                search_given_first=normalise_name(f"{given} {family}"),
                date_of_birth=birth,
                sex=sex,
                # bulk_create skips save(): the search columns are filled here as save() fills them.
                phone=phone,
                phone_digits=phone_digits(phone),
                phone_digits_reversed=phone_digits(phone)[::-1],
                email=f"{given.lower()}.{family.lower().replace(chr(39), '')}{first_index + offset}@example.org",
            )
        )
        if position in DEMOGRAPHICS_BY_POSITION:
            for name, value in DEMOGRAPHICS_BY_POSITION[position].items():
                setattr(patients[-1], name, value)
            patients[-1].birth_sex = BIRTH_SEX_BY_SEX[sex]
    Patient.objects.bulk_create(patients, batch_size=BATCH)
    created = list(Patient.objects.filter(clinic=clinic, mrn__in=[p.mrn for p in patients]).order_by("pk"))
    if first_index == 0 and created:
        PatientIdentifier.objects.bulk_create(
            PatientIdentifier(clinic=clinic, patient=created[0], source="demo", **identifier)
            for identifier in DEMO_IDENTIFIERS
        )
    context.new_patient_ids.extend(p.pk for p in created)
    context.history_patient_ids.extend(
        p.pk for position, p in enumerate(created) if first_index + position < FULL_HISTORY_PATIENTS
    )
    positions = {p.pk: first_index + position for position, p in enumerate(created)}
    _add_clinical_records(context, clinic, created, clinicians, today, positions)


def _build(rng: Any, patient: Patient, position: int) -> dict[str, str]:
    """A measured height and weight: the thin patient below the WHO cut-off, the others above it."""
    mean, sd = HEIGHT_CM[patient.sex]
    height = round(min(200.0, max(145.0, rng.gauss(mean, sd))))
    bmi = THIN_BMI if position == THIN_PATIENT else min(42.0, max(19.0, rng.gauss(26.0, 4.0)))
    return {"height_cm": str(height), "weight_kg": f"{bmi * (height / 100) ** 2:.1f}"}


def _screening_answers(rng: Any, patient: Patient, kind: str, position: int = -1) -> dict[str, Any]:
    answers: dict[str, Any] = {item.code: "no" for item in screening_items()}
    answers |= _build(rng, patient, position)
    if position == PREGNANT_PATIENT:
        answers["pregnancy"] = "yes"
        answers["pregnancy_trimester"] = "2"
    elif kind == "not_cleared":
        answers["needle_phobia"] = "yes"
    elif kind == "precautions":
        choice = rng.choice(["anticoagulants", "diabetes", "lymphoedema", "implanted_device", "metal_allergy"])
        answers[choice] = "yes"
        details = {
            "anticoagulants": ("anticoagulant_medication", "apixaban 5 mg twice daily"),
            "lymphoedema": ("lymphoedema_side", rng.choice(["left", "right"])),
            "implanted_device": ("implanted_device_type", "pacemaker"),
            "metal_allergy": ("metal_allergy_metal", "nickel"),
        }
        if choice in details:
            answers[details[choice][0]] = details[choice][1]
    return answers


def _add_clinical_records(
    context: Any,
    clinic: Clinic,
    patients: list[Patient],
    clinicians: list[Membership],
    today: date,
    positions: dict[int, int],
) -> None:
    rng = context.rng
    text = current_consent_text(clinic)
    condition_codes = list(CONDITION_WEIGHTS)
    weights = list(CONDITION_WEIGHTS.values())
    screenings, consents, episodes = [], [], []
    now = timezone.now()
    for index, patient in enumerate(patients):
        clinician = clinicians[index % 2]
        first_seen = _in_clinic_hours(now, days_ago=rng.randint(0, 80), quarter_hours=rng.randint(0, 28))
        position = positions[patient.pk]
        roll = rng.random()
        kind = "not_cleared" if roll < 0.04 else "precautions" if roll < 0.22 else "cleared"
        if position in (THIN_PATIENT, PREGNANT_PATIENT, MINOR_PATIENT):
            kind = "cleared"
        answers = _screening_answers(rng, patient, kind, position)
        age = patient.age_on(timezone.localdate(first_seen))
        result = evaluate_screening(answers, age_years=age)
        answers |= {name: float(answers[name]) for name in ("height_cm", "weight_kg")}
        acknowledged = result.status == "cleared_with_precautions" and rng.random() < 0.85
        if position in (THIN_PATIENT, PREGNANT_PATIENT, MINOR_PATIENT):
            acknowledged = True
        screenings.append(
            Screening(
                clinic=clinic,
                patient=patient,
                answers=answers,
                status=result.status,
                findings=[asdict(f) for f in result.findings],
                age_years=result.age_years,
                bmi=Decimal(str(result.bmi)) if result.bmi is not None else None,
                screened_by=clinician,
                screened_at=first_seen,
                precautions_acknowledged_by=clinician if acknowledged else None,
                precautions_acknowledged_at=first_seen + timedelta(minutes=3) if acknowledged else None,
                precautions_note=ACKNOWLEDGEMENT_NOTE if acknowledged else "",
            )
        )
        if result.status != "not_cleared":
            # A child is consented for by a parent, with the child's own assent (the gate checks both).
            guardian = f"{rng.choice(GIVEN_FEMALE + GIVEN_MALE)} {patient.family_name}" if age < 18 else ""
            consents.append(
                Consent(
                    clinic=clinic,
                    patient=patient,
                    text=text,
                    signed_name=guardian or patient.full_name,
                    signed_at=first_seen + timedelta(minutes=5),
                    recorded_by=clinician,
                    patient_age_years=age,
                    guardian_name=guardian,
                    guardian_relationship="parent" if guardian else "",
                    child_assent=bool(guardian),
                )
            )
        condition = rng.choices(condition_codes, weights)[0]
        side = _side_for(rng, condition)
        code = rng.choice(icd10_choices(condition, side))
        discharged = first_seen < now - timedelta(days=35) and rng.random() < 0.7
        episodes.append(
            Episode(
                clinic=clinic,
                patient=patient,
                condition=condition,
                icd10_code=code.code,
                side=side,
                onset_date=(first_seen - timedelta(days=rng.randint(10, 400))).date(),
                goals=GOALS[condition],
                opened_by=clinician,
                opened_at=first_seen,
                status="discharged" if discharged else "open",
                discharge_date=(first_seen + timedelta(days=rng.randint(21, 34))).date() if discharged else None,
                discharge_reason=rng.choices(["goals_met", "plateau", "self_discharged", "referred_on"], [6, 2, 2, 1])[
                    0
                ]
                if discharged
                else "",
            )
        )
    Screening.objects.bulk_create(screenings, batch_size=BATCH)
    created_consents = Consent.objects.bulk_create(consents, batch_size=BATCH)
    Episode.objects.bulk_create(episodes, batch_size=BATCH)
    _withdraw_one(context, created_consents)
    context.summary["screenings"] = context.summary.get("screenings", 0) + len(screenings)
    context.summary["episodes"] = context.summary.get("episodes", 0) + len(episodes)


def _in_clinic_hours(now: datetime, days_ago: int, quarter_hours: int) -> datetime:
    """A moment ``days_ago`` days before ``now`` between 09:00 and 16:00 on the clinic's clock (TIME_ZONE), so the
    demo's appointments show at the hours a clinic keeps; never later than ``now``."""
    day = timezone.localdate(now) - timedelta(days=days_ago)
    moment = timezone.make_aware(datetime.combine(day, time(9, 0)) + timedelta(minutes=15 * quarter_hours))
    return moment if moment <= now else moment - timedelta(days=1)


def _side_for(rng: random.Random, condition: str) -> str:
    if condition in ("lateral_epicondylalgia", "tendinopathy", "sciatica"):
        return rng.choice(["left", "right"])
    if condition in ("neck_pain", "low_back_pain", "tension_type_headache", "migraine"):
        return rng.choice(["central", "bilateral", "left", "right"])
    return rng.choice(["left", "right", "central"])


def _withdraw_one(context: Any, consents: list[Consent]) -> None:
    """The demo shows a withdrawn consent: the first batch withdraws its first patient's consent."""
    if not consents or Consent.objects.filter(clinic=context.clinic, withdrawn_at__isnull=False).exists():
        return
    consent = consents[0]
    Consent.objects.filter(pk=consent.pk).update(
        withdrawn_at=consent.signed_at + timedelta(days=2),
        withdrawal_reason="Patient chose exercise therapy only",
        withdrawal_recorded_by=consent.recorded_by,
    )
    context.summary["withdrawn"] = 1
