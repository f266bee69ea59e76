"""Patients, safety screenings, consent texts and consents, and episodes of care."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from needlepoint.accounts.models import Clinic, Membership
from needlepoint.patients import received_records, reported_conditions, screening_rules

# Every apostrophe a keyboard or a word processor produces: straight, curly, modifier letter, prime, grave,
# acute. They are dropped, so "O’Brien", "O'Brien", "Oʼbrien" and "obrien" are one name to search.
APOSTROPHES = "'\u2018\u2019\u02bc\u2032\u0060\u00b4"
# A comma separates "Family, Given" as the patient list shows it; it is not part of a name.
_NAME_DROPPED = str.maketrans(dict.fromkeys(APOSTROPHES, "") | {",": " "})
NON_DIGITS = re.compile(r"[^0-9]")
# What a list needs of a patient to name them and link to their page (``full_name``, the id, the clinic for the
# audit trail): lists load only these (``.only``), not every column of every patient they show.
PATIENT_NAME_FIELDS = ("id", "clinic_id", "given_name", "family_name")


def patient_name_fields(relation: str) -> tuple[str, ...]:
    """``PATIENT_NAME_FIELDS`` through ``relation`` (``"patient"``), for ``.only`` on a query of related records."""
    return tuple(f"{relation}__{field}" for field in PATIENT_NAME_FIELDS)


def normalise_name(text: str) -> str:
    """Lower-case, accent-free, apostrophe-free, single-spaced: the form names are searched in."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_NAME_DROPPED))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.translate(_NAME_DROPPED).lower().split())


def phone_digits(text: str) -> str:
    """Only the digits of a phone number, so "+1 (555) 201-3344" and "+1 555 201 3344" are one number."""
    return NON_DIGITS.sub("", text)


class Patient(models.Model):
    """A patient of one clinic: demographics and contact details, with a generated MRN."""

    audit_trail = True

    class Sex(models.TextChoices):
        FEMALE = "female", gettext_lazy("Female")
        MALE = "male", gettext_lazy("Male")
        OTHER = "other", gettext_lazy("Other")
        UNKNOWN = "unknown", gettext_lazy("Unknown")

    class Language(models.TextChoices):
        """The languages the patient's pages, documents and messages are written in (settings.LANGUAGES)."""

        ENGLISH = "en", gettext_lazy("English")
        SPANISH = "es", gettext_lazy("Spanish (español)")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=30)
    name_prefix = models.CharField(
        "title", max_length=40, blank=True, help_text=gettext_lazy("Mr., Mrs., Ms., Dr., ...")
    )
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    # Normalised for search: "family given" and "given family". On PostgreSQL both are in collation "C"
    # (migration 0006), so one index serves prefix match and name order; an AlterField here must keep it.
    search_name = models.CharField(max_length=210, editable=False)
    search_given_first = models.CharField(max_length=210, editable=False, default="")
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = models.CharField(max_length=40, blank=True)
    # The phone's digits, and the same digits reversed: a range scan on the first finds a number by its start,
    # on the second by its end (so a number typed without its country code or trunk 0 is still found).
    phone_digits = models.CharField(max_length=40, editable=False, default="", blank=True)
    phone_digits_reversed = models.CharField(max_length=40, editable=False, default="", blank=True)
    email = models.EmailField(blank=True)
    # The street line(s), one per line; records from before the parts below keep their whole address here.
    address = models.CharField(max_length=300, blank=True)
    address_city = models.CharField("city", max_length=100, blank=True)
    address_state = models.CharField("state", max_length=100, blank=True)
    address_postal_code = models.CharField("postal code", max_length=20, blank=True)
    address_country = models.CharField("country", max_length=100, blank=True)
    # Coded demographics (patients/demographics.py, data/demographics.json): codes, blank when not recorded. Race,
    # ethnicity and birth sex are what the patient reports, and may be declined.
    marital_status = models.CharField(max_length=5, blank=True, help_text=gettext_lazy("v3-MaritalStatus code, or UNK"))
    race_codes = models.JSONField(
        default=list, blank=True, help_text=gettext_lazy("OMB race categories (CDC codes), or ASKU/UNK")
    )
    race_text = models.CharField(max_length=200, blank=True, help_text=gettext_lazy("Race in the patient's words"))
    ethnicity_code = models.CharField(
        max_length=10, blank=True, help_text=gettext_lazy("OMB ethnicity category, or ASKU/UNK")
    )
    ethnicity_text = models.CharField(
        max_length=200, blank=True, help_text=gettext_lazy("Ethnicity in the patient's words")
    )
    birth_sex = models.CharField(max_length=3, blank=True, help_text=gettext_lazy("Sex assigned at birth: F, M or UNK"))
    emergency_contact = models.CharField(max_length=200, blank=True)
    preferred_language = models.CharField(
        max_length=5,
        choices=Language.choices,
        default=Language.ENGLISH,
        help_text=gettext_lazy(
            "The language of the patient's questionnaire pages, diary, handout, after-care, consent and messages"
        ),
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)
    # Retention (patients/retention.py): the application never deletes a record. Archiving marks a patient no
    # longer in care; a legal hold says the record must outlive any retention period. Neither removes data.
    archived_at = models.DateTimeField(null=True, blank=True, help_text=gettext_lazy("When the record was archived"))
    legal_hold = models.BooleanField(
        default=False, help_text=gettext_lazy("Keep beyond any retention period (litigation, audit)")
    )
    retention_note = models.CharField(
        max_length=300, blank=True, help_text=gettext_lazy("Why the record was archived or held")
    )
    # Death (patients.actions.record_death): FHIR allows the fact without the date (deceasedBoolean), so the date
    # is optional. Once recorded, nothing reaches the patient: no bookings, links, reminders or new visits.
    deceased = models.BooleanField(default=False, help_text=gettext_lazy("The patient has died"))
    deceased_date = models.DateField(
        "date of death", null=True, blank=True, help_text=gettext_lazy("Empty when not known")
    )
    death_recorded_at = models.DateTimeField(null=True, blank=True)
    death_recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "mrn"], name="unique_mrn_per_clinic")]
        indexes = [
            models.Index(fields=["clinic", "search_name"], name="patient_clinic_name"),
            models.Index(fields=["clinic", "search_given_first"], name="patient_clinic_given_first"),
            models.Index(fields=["clinic", "family_name"], name="patient_clinic_family"),
            # Birth-date search lists matches by name: with the name in the index, no sort and no planner
            # temptation to walk the whole clinic in name order instead (SQLite did, 170 ms at 100,000).
            models.Index(fields=["clinic", "date_of_birth", "search_name"], name="patient_clinic_dob_name"),
            models.Index(fields=["clinic", "phone_digits"], name="patient_clinic_phone"),
            models.Index(fields=["clinic", "phone_digits_reversed"], name="patient_clinic_phone_end"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name = normalise_name(f"{self.family_name} {self.given_name}")
        self.search_given_first = normalise_name(f"{self.given_name} {self.family_name}")
        self.phone_digits = phone_digits(self.phone)
        self.phone_digits_reversed = self.phone_digits[::-1]
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        """Given name then family name, as the patient writes it."""
        return f"{self.given_name} {self.family_name}"

    @property
    def deceased_notice(self) -> str:
        """'Deceased', with the date of death when known; empty for a living patient."""
        if not self.deceased:
            return ""
        return f"Deceased {self.deceased_date:%Y-%m-%d}" if self.deceased_date else "Deceased (date not known)"

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day``."""
        before_birthday = (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day)
        return day.year - self.date_of_birth.year - before_birthday

    def audit_summary(self) -> str:
        return f"patient {self.mrn}"


class PatientIdentifier(models.Model):
    """A number another system gave the patient (a sender's MRN, a Social Security number, a passport number...),
    kept as received with where it came from; shown read-only, a Social Security number only masked."""

    audit_trail = True

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="identifiers")
    system = models.CharField(max_length=300)
    value = models.CharField(max_length=100)
    type_system = models.CharField(max_length=300, blank=True)
    type_code = models.CharField(max_length=20, blank=True)
    type_display = models.CharField(max_length=200, blank=True)
    type_text = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=100, help_text=gettext_lazy("Where it came from, e.g. FHIR import"))
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "system", "value"], name="patient_identifier_once"),
        ]
        # FHIR Patient?identifier=system|value finds a patient by another system's number within the clinic.
        indexes = [models.Index(fields=["clinic", "system", "value"], name="patient_identifier_lookup")]

    def __str__(self) -> str:
        return f"{self.system} identifier of patient {self.patient_id}"

    def audit_summary(self) -> str:
        # Never the value: the trail is read by people who should not see a Social Security number.
        return f"identifier ({self.type_code or 'no type'}) from {self.source}"


class PatientRecord(models.Model):
    """Base for every patient-scoped record: it carries its clinic and patient, and is audited."""

    audit_trail = True

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True


class Screening(PatientRecord):
    """A dry-needling safety screening: the answers, the rule result, and any acknowledgement.

    Current for ``SCREENING_VALID_DAYS`` days, or until the patient reports a change in health.
    """

    class Status(models.TextChoices):
        CLEARED = "cleared", gettext_lazy("Cleared")
        CLEARED_WITH_PRECAUTIONS = "cleared_with_precautions", gettext_lazy("Cleared with precautions")
        NOT_CLEARED = "not_cleared", gettext_lazy("Not cleared")

    answers = models.JSONField()
    status = models.CharField(max_length=30, choices=Status.choices)
    findings = models.JSONField(default=list)
    # Derived by the screening rules, never typed: the age from the date of birth on the day of screening,
    # and the BMI from the height and weight in ``answers``. Empty on screenings recorded before either.
    age_years = models.PositiveSmallIntegerField("age at screening", null=True, blank=True)
    bmi = models.DecimalField("BMI (derived)", max_digits=4, decimal_places=1, null=True, blank=True)
    screened_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    screened_at = models.DateTimeField(default=timezone.now)
    precautions_acknowledged_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    precautions_acknowledged_at = models.DateTimeField(null=True, blank=True)
    precautions_note = models.TextField(blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)
    invalidated_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "-screened_at"], name="screening_patient_time"),
            models.Index(fields=["clinic", "screened_at"], name="screening_clinic_time"),
        ]

    def __str__(self) -> str:
        return f"Screening {self.screened_at:%Y-%m-%d}: {self.get_status_display()}"

    @property
    def expires_at(self) -> datetime:
        """When the screening stops being current by age alone."""
        return self.screened_at + timedelta(days=settings.SCREENING_VALID_DAYS)

    def is_current(self, at: datetime | None = None) -> bool:
        """Whether it can still be relied on: not expired, not invalidated by a reported change."""
        at = at or timezone.now()
        # A change in health ends currency from the moment it was reported, not retroactively: a visit
        # needled before the report can still be signed.
        not_invalidated = self.invalidated_at is None or self.invalidated_at > at
        return not_invalidated and self.screened_at <= at < self.expires_at

    @property
    def needs_acknowledgement(self) -> bool:
        """Cleared with precautions, but no clinician has acknowledged them yet."""
        return self.status == self.Status.CLEARED_WITH_PRECAUTIONS and self.precautions_acknowledged_at is None

    @property
    def height_cm(self) -> float | None:
        """The measured height, as recorded with the answers (None on older screenings)."""
        height: float | None = self.answers.get("height_cm")
        return height

    @property
    def weight_kg(self) -> float | None:
        """The measured weight, as recorded with the answers (None on older screenings)."""
        weight: float | None = self.answers.get("weight_kg")
        return weight

    def result(self) -> screening_rules.ScreeningResult:
        """The stored outcome as the pure rules' ScreeningResult (findings, age and BMI)."""
        bmi = float(self.bmi) if self.bmi is not None else None
        return screening_rules.ScreeningResult.from_record(
            self.status, self.findings, age_years=self.age_years, bmi=bmi
        )

    def audit_summary(self) -> str:
        return f"screening {self.status}"


class ConsentText(models.Model):
    """A version of the clinic's informed-consent text; a new version needs a new consent."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="consent_texts")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    material_risks = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    is_current = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "version"], name="unique_consent_version"),
            models.UniqueConstraint(fields=["clinic"], condition=Q(is_current=True), name="one_current_consent_text"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class Consent(PatientRecord):
    """Informed consent to dry needling, signed by typed full name, withdrawable.

    An adult signs for themselves. For a patient under 18 a guardian (a person with parental
    responsibility) signs with their own name, and the child's own agreement (assent) is recorded with it.
    """

    class GuardianRelationship(models.TextChoices):
        PARENT = "parent", gettext_lazy("Parent")
        LEGAL_GUARDIAN = "legal_guardian", gettext_lazy("Legal guardian")
        OTHER = "other", gettext_lazy("Other person with parental responsibility")

    text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="consents")
    signed_name = models.CharField(max_length=210)
    patient_age_years = models.PositiveSmallIntegerField("patient's age when signed", null=True, blank=True)
    guardian_name = models.CharField(max_length=210, blank=True)
    guardian_relationship = models.CharField(max_length=20, choices=GuardianRelationship.choices, blank=True)
    child_assent = models.BooleanField("the child agreed (assent)", default=False)
    drawn_signature = models.TextField(blank=True, help_text=gettext_lazy("Optional SVG path of a drawn signature"))
    signed_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.CharField(max_length=300, blank=True)
    withdrawal_recorded_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        indexes = [
            models.Index(fields=["patient", "-signed_at"], name="consent_patient_time"),
            # The dashboard's consents that no longer hold: the withdrawn ones are few, read without the others.
            models.Index(
                fields=["clinic", "-signed_at"], condition=Q(withdrawn_at__isnull=False), name="consent_withdrawn"
            ),
        ]

    def __str__(self) -> str:
        return f"Consent v{self.text.version} signed {self.signed_at:%Y-%m-%d}"

    @property
    def by_guardian(self) -> bool:
        """Signed by a guardian for a patient under 18, not by the patient."""
        return bool(self.guardian_name)

    def audit_summary(self) -> str:
        return "consent withdrawn" if self.withdrawn_at else "consent signed"


class Episode(PatientRecord):
    """An episode of care for one treated condition, from opening to discharge."""

    class Side(models.TextChoices):
        LEFT = "left", gettext_lazy("Left")
        RIGHT = "right", gettext_lazy("Right")
        BILATERAL = "bilateral", gettext_lazy("Both sides")
        CENTRAL = "central", gettext_lazy("Central / not sided")

    class Status(models.TextChoices):
        OPEN = "open", gettext_lazy("Open")
        DISCHARGED = "discharged", gettext_lazy("Discharged")

    class DischargeReason(models.TextChoices):
        GOALS_MET = "goals_met", gettext_lazy("Goals met")
        PLATEAU = "plateau", gettext_lazy("Plateau")
        SELF_DISCHARGED = "self_discharged", gettext_lazy("Self-discharged")
        REFERRED_ON = "referred_on", gettext_lazy("Referred on")

    condition = models.CharField(max_length=40)
    icd10_code = models.CharField("ICD-10-CM", max_length=10)
    side = models.CharField(max_length=10, choices=Side.choices)
    onset_date = models.DateField()
    goals = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    discharge_date = models.DateField(null=True, blank=True)
    discharge_reason = models.CharField(max_length=20, choices=DischargeReason.choices, blank=True)
    version = models.PositiveIntegerField(default=1)
    # When the row last changed (FHIR meta.lastUpdated and Last-Modified); rows older than the field got theirs
    # from the audit trail (migration 0013).
    updated_at = models.DateTimeField(auto_now=True, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "condition", "side"],
                condition=Q(status="open"),
                name="one_open_episode_per_condition_side",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(discharge_date__isnull=False),
                name="discharged_episode_has_date",
            ),
        ]
        indexes = [models.Index(fields=["clinic", "condition", "status"], name="episode_clinic_condition")]

    def __str__(self) -> str:
        from needlepoint.patients.conditions import condition_label

        return f"{condition_label(self.condition)} ({self.get_side_display().lower()}), from {self.onset_date}"

    @property
    def condition_label(self) -> str:
        from needlepoint.patients.conditions import condition_label

        return condition_label(self.condition)

    def audit_summary(self) -> str:
        return f"episode {self.condition} {self.status}"


class ReportedCondition(PatientRecord):
    """A condition another record reported for the patient (a FHIR import), kept as the sender stated it.

    Never edited in place and never deleted: saving a change or deleting one is refused. Corrections (a later
    version from the sender, a clinician marking one wrong) are not handled yet. The code is the first coding
    received, with every coding and the text kept for export; dates are the FHIR date or dateTime as sent.
    """

    system = models.CharField("code system", max_length=255)
    code = models.CharField(max_length=64)
    display = models.CharField(max_length=500, blank=True)
    codings = models.JSONField(default=list, help_text=gettext_lazy("Every coding of Condition.code as received"))
    text = models.CharField(max_length=500, blank=True, help_text=gettext_lazy("Condition.code.text as received"))
    clinical_status = models.CharField(
        max_length=20, blank=True, help_text=gettext_lazy("FHIR condition-clinical code")
    )
    verification_status = models.CharField(
        max_length=20, blank=True, help_text=gettext_lazy("FHIR condition-ver-status code")
    )
    onset = models.CharField(max_length=35, blank=True, help_text=gettext_lazy("FHIR date or dateTime as received"))
    abatement = models.CharField(max_length=35, blank=True, help_text=gettext_lazy("FHIR date or dateTime as received"))
    recorded_date = models.CharField(
        max_length=35, blank=True, help_text=gettext_lazy("FHIR date or dateTime as received")
    )
    source = models.CharField(max_length=200, help_text=gettext_lazy("Where it came from, as the chart names it"))
    source_reference = models.CharField(
        max_length=300, blank=True, help_text=gettext_lazy("The sender's fullUrl or Condition/id")
    )
    imported_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["patient", "imported_at"], name="reported_condition_patient")]

    def __str__(self) -> str:
        return f"{self.display or self.code} ({self.clinical_status or 'no status'}), from {self.source}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("A reported condition is kept as received and is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("A reported condition is kept as received and is never deleted.")

    @property
    def is_active(self) -> bool:
        """Active (or a recurrence or relapse) by the sending record, and not refuted or entered in error."""
        return reported_conditions.is_active(self.clinical_status, self.verification_status)

    @property
    def system_name(self) -> str:
        """The code system as a clinician knows it (SNOMED CT, ICD-10-CM), else its URI."""
        return reported_conditions.code_system_name(self.system)

    @property
    def clinical_status_label(self) -> str:
        """The clinical status as the code system displays it ("No status" when the sender gave none)."""
        return (
            reported_conditions.clinical_statuses().display(self.clinical_status)
            if self.clinical_status
            else "No status"
        )

    @property
    def verification_status_label(self) -> str:
        """The verification status as the code system displays it (empty when the sender gave none)."""
        return (
            reported_conditions.verification_statuses().display(self.verification_status)
            if self.verification_status
            else ""
        )

    def audit_summary(self) -> str:
        return f"reported condition {self.system}|{self.code}"


class ReceivedRecord(PatientRecord):
    """A record another clinic made for the patient (a FHIR import), kept as received: one FHIR resource of a
    type this server serves (a Procedure, an Observation, an AdverseEvent, a Consent, a QuestionnaireResponse,
    or a Condition that says more than a ``ReportedCondition`` keeps), with the sender's references rewritten
    to the ids this server gave the bundle's entries.

    It is the sender's record, never this clinic's own: it is not a visit, a signed note, a needle count, a
    score or a consent of this clinic, and nothing of this clinic reads it as one (the consent gate, the needle
    counts and the outcome charts read their own tables). The chart lists it under "Records from <sender>".
    Never edited in place and never deleted: saving a change or deleting one is refused.

    Its FHIR id is ``received-<key>``, the key being the new patient's id and the bundle entry's position
    (``12-7``): known before anything is written, so the records of one bundle can refer to each other, and
    unique because each import makes a new patient.
    """

    resource_type = models.CharField(max_length=64, help_text="The FHIR resource type, as received")
    key = models.CharField(max_length=40, unique=True, help_text="<patient id>-<bundle entry>: the id's own part")
    resource = models.JSONField(help_text="The resource as received, its references rewritten to this server's ids")
    summary = models.CharField(max_length=300, help_text="What the chart says it is (its code's text or display)")
    occurred = models.CharField(max_length=35, blank=True, help_text="Its FHIR date or dateTime, as received")
    source = models.CharField(max_length=200, help_text="Where it came from, as the chart names it")
    source_reference = models.CharField(max_length=300, blank=True, help_text="The sender's fullUrl or Type/id")
    imported_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["patient", "imported_at"], name="received_record_patient")]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.summary}, from {self.source}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("A received record is kept as received and is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("A received record is kept as received and is never deleted.")

    @property
    def fhir_id(self) -> str:
        """Its id as a FHIR resource of its type."""
        return f"received-{self.key}"

    @property
    def type_label(self) -> str:
        """The resource type in plain words ("Adverse event")."""
        return received_records.type_label(self.resource_type)

    def audit_summary(self) -> str:
        return f"received record {self.resource_type}"


class RecentPatient(models.Model):
    """A patient this member of staff opened, and when last: the "recent patients" of the patient list.

    One row per member and patient, moved to the top on each opening and pruned to the latest few; the
    audit trail keeps the full history of reads.
    """

    # The clinic, like every patient-scoped row: it is the distribution key of docs/scaling.md.
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "patient"], name="recent_patient_once_per_member"),
        ]
        indexes = [models.Index(fields=["membership", "-opened_at"], name="recent_patient_member_time")]

    def __str__(self) -> str:
        return f"{self.patient_id} opened {self.opened_at:%Y-%m-%d %H:%M}"


class WithdrawnDeath(PatientRecord):
    """A death recorded on the wrong chart or in error, and withdrawn: what was recorded, and who withdrew it, why.

    The patient's own death fields are cleared by the withdrawal; this row keeps what they held, so nothing
    recorded is lost.
    """

    deceased_date = models.DateField("date of death recorded", null=True, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    withdrawn_at = models.DateTimeField(default=timezone.now)
    withdrawn_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300)

    class Meta:
        indexes = [models.Index(fields=["patient", "-withdrawn_at"], name="withdrawn_death_patient_time")]

    def __str__(self) -> str:
        return f"Death record withdrawn {self.withdrawn_at:%Y-%m-%d}: {self.reason}"

    def audit_summary(self) -> str:
        return "death record withdrawn"
