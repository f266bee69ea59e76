"""Appointments and what hangs on them: series, reminders sent, patients' contact preferences, calendar feeds.

An appointment holds no clinical content (no reason for visit, no notes): front desk books and sees the
calendar, and the clinical record stays in the visit the appointment starts.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from needlepoint.accounts.models import Clinic, HashedToken, Membership
from needlepoint.grammar import plural
from needlepoint.patients.models import PatientRecord
from needlepoint.scheduling.config import book_settings
from needlepoint.scheduling.rules import STATUS_LABELS, Status

STATUS_CHOICES = [(s.value, STATUS_LABELS[s]) for s in Status]


class AppointmentSeries(PatientRecord):
    """Appointments booked together as one repeating plan, e.g. weekly for six weeks."""

    clinician = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30)
    every_weeks = models.PositiveSmallIntegerField(default=1)
    count = models.PositiveSmallIntegerField()
    booked_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "appointment series"

    def __str__(self) -> str:
        return f"{self.count} × {self.kind} every {plural(self.every_weeks, 'week')}"

    def audit_summary(self) -> str:
        return f"series of {plural(self.count, 'appointment')}, every {plural(self.every_weeks, 'week')}"


class Appointment(PatientRecord):
    """A patient's booked time with one clinician; a visit starts from it."""

    clinician = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="appointments")
    kind = models.CharField(
        max_length=30, help_text=gettext_lazy("Appointment type code from scheduling/data/settings.json")
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, default=Status.BOOKED.value)
    cancel_reason = models.CharField(max_length=300, blank=True)
    series = models.ForeignKey(
        AppointmentSeries, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    visit = models.OneToOneField(
        "visits.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="appointment"
    )
    booked_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "starts_at"], name="appointment_clinic_time"),
            models.Index(fields=["clinician", "starts_at"], name="appointment_clinician_time"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in Status]), name="appointment_status_known"),
            models.CheckConstraint(
                condition=~Q(status=Status.CANCELLED.value) | ~Q(cancel_reason=""),
                name="appointment_cancel_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"

    @property
    def minutes(self) -> int:
        """Length in minutes."""
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def kind_label(self) -> str:
        """The appointment type as the clinic names it."""
        found = book_settings(self.clinic.slug).type_named(self.kind) if self.clinic_id else None
        return found.label if found else self.kind.replace("_", " ").capitalize()

    @property
    def status_label(self) -> str:
        """The status in words."""
        return STATUS_LABELS[Status(self.status)]

    @property
    def is_open(self) -> bool:
        """Whether the appointment can still be changed (not completed, missed or cancelled)."""
        return self.status in (Status.BOOKED, Status.ARRIVED)

    def audit_summary(self) -> str:
        return (
            f"appointment {self.kind} {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M} "
            f"{self.minutes} min, {self.status}"
        )


class ContactPreference(PatientRecord):
    """How a patient wants to hear from the clinic: appointment reminders and questionnaire links (one row per
    patient).

    Kept in scheduling rather than on the patient record; no row means e-mail reminders are wanted and links
    may go by e-mail or text message.
    """

    class LinksBy(models.TextChoices):
        """How the patient wants questionnaire (self-report) links, or that they want none."""

        EITHER = "either", gettext_lazy("By e-mail or text message")
        EMAIL = "email", gettext_lazy("By e-mail only")
        SMS = "sms", gettext_lazy("By text message only")
        NONE = "none", gettext_lazy("No links (opted out)")

    email_reminders = models.BooleanField(default=True)
    links_by = models.CharField(max_length=6, choices=LinksBy.choices, default=LinksBy.EITHER)
    changed_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["patient"], name="one_contact_preference_per_patient")]

    def __str__(self) -> str:
        reminders = "e-mail reminders" if self.email_reminders else "no reminders"
        return f"{reminders}; links: {self.get_links_by_display().lower()}"

    def audit_summary(self) -> str:
        return (
            f"e-mail reminders {'wanted' if self.email_reminders else 'declined'}; "
            f"questionnaire links {self.get_links_by_display().lower()}"
        )


class ReminderSent(PatientRecord):
    """A reminder e-mailed for one appointment: recorded so each appointment is reminded once."""

    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="reminder")
    sent_to = models.EmailField()
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"reminder to {self.sent_to} at {self.sent_at:%Y-%m-%d %H:%M}"

    def audit_summary(self) -> str:
        return f"appointment reminder e-mailed for appointment {self.appointment_id}"


class CalendarFeed(HashedToken, models.Model):
    """A clinician's private iCalendar address; only a hash of its token is stored, and it can be revoked."""

    audit_trail = True
    PREFIX = "npc_"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    clinician = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"calendar feed {self.hint}…"

    def audit_summary(self) -> str:
        return f"calendar feed {self.hint}… {'revoked' if self.revoked_at else 'active'}"
