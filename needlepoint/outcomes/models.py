"""Outcome records: questionnaire scores and pain ratings as observations, range-of-motion measurements,
each clinic's choice of instruments per condition, and the patient's self-report links.

Observations are stored one row per score so that clinic-wide analytics can aggregate them in the database
(by clinic, instrument, time point, source), with the item answers kept beside the score.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from needlepoint.accounts.models import Clinic, Membership
from needlepoint.patients.models import Episode, PatientRecord


class TimePoint(models.TextChoices):
    """When in an episode a measure was taken."""

    BASELINE = "baseline", gettext_lazy("Baseline")
    REASSESSMENT = "reassessment", gettext_lazy("Re-assessment")
    DISCHARGE = "discharge", gettext_lazy("Discharge")
    VISIT = "visit", gettext_lazy("Visit")


class Source(models.TextChoices):
    """Who gave the answers: the clinician (or staff entering a paper form) or the patient by link."""

    CLINICIAN = "clinician", gettext_lazy("Clinician")
    PATIENT = "patient", gettext_lazy("Patient-reported")


class ClinicInstrumentPlan(models.Model):
    """A clinic's own choice of questionnaires for one condition, replacing the default for that condition."""

    audit_trail = True

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="instrument_plans")
    condition = models.CharField(max_length=40)
    instruments = models.JSONField(help_text=gettext_lazy("Instrument codes in the order they are asked"))
    schedule = models.JSONField(
        default=dict,
        blank=True,
        help_text=gettext_lazy(
            "When each instrument is due: code (or '*' for all) -> {baseline, every_days, every_visits, "
            "discharge}; empty = the default schedule"
        ),
    )
    updated_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "condition"], name="one_plan_per_condition")]

    def __str__(self) -> str:
        return f"{self.condition}: {', '.join(self.instruments)}"

    def audit_summary(self) -> str:
        return f"instrument plan {self.condition}: {', '.join(self.instruments)}"


class SelfReportLink(PatientRecord):
    """An expiring link for the patient: a one-time questionnaire link (the episode's questionnaires and today's
    pain), or a headache-diary link used every day until it expires or is cancelled.

    Only a SHA-256 hash of the link's token is stored; the token itself is shown once, to the sender.
    """

    class Kind(models.TextChoices):
        """What the link opens."""

        QUESTIONNAIRE = "questionnaire", gettext_lazy("Questionnaire (used once)")
        DIARY = "diary", gettext_lazy("Headache diary (daily until it expires)")

    kind = models.CharField(max_length=13, choices=Kind.choices, default=Kind.QUESTIONNAIRE)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="self_report_links")
    instruments = models.JSONField(help_text=gettext_lazy("Instrument codes the patient is asked, in order"))
    include_pain = models.BooleanField(default=True)
    time_point = models.CharField(max_length=12, choices=TimePoint.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    # The short link's token (/r/<token>, for text messages) is a second secret of the same link; only its hash
    # is stored. Links made before short links existed have none.
    short_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        help_text=gettext_lazy("The link this one was re-sent in place of (that one was cancelled)"),
    )
    submitted_from = models.GenericIPAddressField(
        null=True, blank=True, help_text=gettext_lazy("The address the patient's answers came from")
    )
    submitted_user_agent = models.CharField(
        max_length=300, blank=True, help_text=gettext_lazy("The browser (user agent) the patient's answers came from")
    )

    pain_drawing = models.OneToOneField(
        "atlas.PatientPainDrawing",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="self_report_link",
        help_text=gettext_lazy("The pain drawing the patient sent with their answers, if they drew one"),
    )
    USER_AGENT_LENGTH = 300

    class Meta:
        indexes = [models.Index(fields=["episode", "-created_at"], name="selfreport_episode_time")]

    def __str__(self) -> str:
        return f"Self-report link {self.pk} ({self.get_time_point_display()}, expires {self.expires_at:%Y-%m-%d})"

    @staticmethod
    def hash_token(token: str) -> str:
        """The stored form of a link token."""
        return hashlib.sha256(token.encode()).hexdigest()

    def status(self, at: datetime | None = None) -> str:
        """'cancelled', 'used', 'expired' or 'open'."""
        if self.cancelled_at is not None:
            return "cancelled"
        if self.used_at is not None:
            return "used"
        if (at or timezone.now()) >= self.expires_at:
            return "expired"
        return "open"

    def audit_summary(self) -> str:
        if self.cancelled_at:
            return f"{self.kind} link cancelled"
        if self.kind == self.Kind.DIARY:
            return "headache diary link sent"
        return "self-report link used" if self.used_at else f"self-report link sent ({self.time_point})"


class LinkMessage(PatientRecord):
    """A self-report link sent to the patient by e-mail or text message: who sent it, when, and to where.

    Written in the same transaction as the sending, after the message went out, so a refused or failed send
    leaves no record of having been sent.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", gettext_lazy("E-mail")
        SMS = "sms", gettext_lazy("Text message")

    link = models.ForeignKey(SelfReportLink, on_delete=models.PROTECT, related_name="messages")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    sent_to = models.CharField(max_length=254, help_text=gettext_lazy("The e-mail address or the number in E.164 form"))
    sent_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["link", "sent_at"], name="linkmessage_link_time")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.sent_to} at {self.sent_at:%Y-%m-%d %H:%M}"

    def audit_summary(self) -> str:
        return f"self-report link {self.link_id} sent by {self.get_channel_display().lower()} to {self.sent_to}"


class HeadacheDiaryEntry(PatientRecord):
    """One day of a patient's headache diary, written by the patient through a diary link.

    One row per episode and day. The patient may rewrite a day only on that same day (each change is an update in
    the audit trail, with the values before it in ``replaced``); a past day, once written, is closed. The row keeps
    the address and device the last answers came from, as evidence of who sent them.
    """

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="diary_entries")
    link = models.ForeignKey(SelfReportLink, on_delete=models.PROTECT, related_name="diary_entries")
    day = models.DateField()
    headache = models.BooleanField()
    worst_intensity = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=gettext_lazy("0-10, on headache days")
    )
    hours = models.FloatField(null=True, blank=True, help_text=gettext_lazy("Hours with headache, on headache days"))
    acute_medication = models.BooleanField(help_text=gettext_lazy("Medication taken for a headache on this day"))
    recorded_at = models.DateTimeField(default=timezone.now)
    replaced = models.JSONField(
        default=list, blank=True, help_text=gettext_lazy("Earlier answers for the day, oldest first")
    )
    submitted_from = models.GenericIPAddressField(null=True, blank=True)
    submitted_user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["episode", "day"], name="one_diary_entry_per_day"),
            models.CheckConstraint(
                condition=Q(headache=True, worst_intensity__lte=10, hours__gt=0, hours__lte=24)
                | Q(headache=False, worst_intensity__isnull=True, hours__isnull=True),
                name="diary_entry_consistent",
            ),
        ]
        indexes = [models.Index(fields=["clinic", "day"], name="diary_clinic_day")]

    def __str__(self) -> str:
        return f"Diary {self.day}: {'headache' if self.headache else 'no headache'}"

    def audit_summary(self) -> str:
        what = f"headache {self.worst_intensity}/10, {self.hours:g} h" if self.headache else "no headache"
        medication = ", acute medication" if self.acute_medication else ""
        return f"headache diary {self.day:%Y-%m-%d}: {what}{medication}"


class Observation(PatientRecord):
    """One score on one instrument (a questionnaire total or a 0-10 pain rating) in an episode of care.

    ``value`` is the instrument's total on its own scale, ``subscales`` any subscale or module scores, and
    ``answers`` the item answers as the form prints them (item id -> the printed value of the chosen option,
    the number of a 0-N item, or a measurement; null = unanswered; migration 0004 converted earlier positions).
    """

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="observations")
    visit = models.ForeignKey(
        "visits.Visit", on_delete=models.PROTECT, related_name="observations", null=True, blank=True
    )
    instrument = models.CharField(max_length=12)
    value = models.FloatField()
    unit = models.CharField(max_length=20)
    subscales = models.JSONField(default=dict, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    item_notes = models.JSONField(
        default=dict, blank=True, help_text=gettext_lazy("e.g. the activity each PSFS line rates")
    )
    observed_on = models.DateField()
    observed_at = models.DateTimeField()
    time_point = models.CharField(max_length=12, choices=TimePoint.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    self_report_link = models.ForeignKey(
        SelfReportLink, on_delete=models.PROTECT, related_name="observations", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(recorded_by__isnull=False) | Q(self_report_link__isnull=False),
                name="observation_has_provenance",
            ),
            models.CheckConstraint(
                condition=Q(source="patient") | Q(self_report_link__isnull=True),
                name="link_observation_is_patient_reported",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "instrument", "time_point"], name="obs_clinic_instrument_tp"),
            models.Index(fields=["clinic", "instrument", "observed_on"], name="obs_clinic_instrument_day"),
            models.Index(fields=["episode", "instrument", "observed_at"], name="obs_episode_instrument_time"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.value:g} on {self.observed_on} ({self.time_point}, {self.source})"

    def audit_summary(self) -> str:
        return f"{self.instrument} {self.value:g} ({self.time_point}, {self.source})"


class RomMeasurement(PatientRecord):
    """One range-of-motion measurement: joint, movement, side, degrees, method, and percent of normal.

    ``normal_degrees`` is the normal value the percent was computed against (from data/rom_norms.json);
    ``percent_of_normal`` is empty where the normal is 0° (elbow and knee extension).
    """

    class Method(models.TextChoices):
        """How the angle was measured."""

        GONIOMETER = "goniometer", gettext_lazy("Goniometer")
        INCLINOMETER = "inclinometer", gettext_lazy("Inclinometer")
        CROM = "crom", gettext_lazy("CROM device")

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="rom_measurements")
    visit = models.ForeignKey(
        "visits.Visit", on_delete=models.PROTECT, related_name="rom_measurements", null=True, blank=True
    )
    joint = models.CharField(max_length=30)
    movement = models.CharField(max_length=30)
    side = models.CharField(
        max_length=5, blank=True, help_text=gettext_lazy("left or right; empty for unsided movements")
    )
    degrees = models.FloatField()
    method = models.CharField(max_length=12, choices=Method.choices)
    normal_degrees = models.FloatField()
    percent_of_normal = models.FloatField(null=True, blank=True)
    observed_on = models.DateField()
    observed_at = models.DateTimeField()
    time_point = models.CharField(max_length=12, choices=TimePoint.choices)
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "joint", "movement"], name="rom_clinic_joint_movement"),
            models.Index(fields=["episode", "joint", "movement", "observed_at"], name="rom_episode_movement_time"),
        ]

    def __str__(self) -> str:
        side = f" {self.side}" if self.side else ""
        return f"{self.joint} {self.movement}{side} {self.degrees:g}° ({self.method}) on {self.observed_on}"

    def audit_summary(self) -> str:
        return f"ROM {self.joint} {self.movement} {self.degrees:g}°"


class ClinicInstrumentWording(models.Model):
    """One version of a clinic's licensed wording for an instrument whose wording is not shipped (HIT-6, ODI...).

    ``items`` maps each item id to ``{"question": text, "options": [text per option, in published order]}``
    (numeric and measurement items have no options). A new entry supersedes the previous one and never
    overwrites it: the clinic's current wording is its highest ``version``. The wording is shown only;
    answers stay the values printed beside the options, so scoring never depends on it.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="instrument_wordings")
    instrument = models.CharField(max_length=12)
    version = models.PositiveIntegerField()
    items = models.JSONField(help_text=gettext_lazy("Item id -> {question, options: [text per option index]}"))
    licence_reference = models.CharField(max_length=200, help_text=gettext_lazy("e.g. the clinic's licence number"))
    entered_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "instrument", "version"], name="one_wording_per_version"),
        ]
        indexes = [models.Index(fields=["clinic", "instrument", "-version"], name="wording_clinic_current")]

    def __str__(self) -> str:
        return f"{self.instrument} wording v{self.version} ({self.licence_reference})"

    def audit_summary(self) -> str:
        return f"{self.instrument} licensed wording version {self.version} (licence {self.licence_reference})"
