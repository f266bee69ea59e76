"""Treatment visits, their needling entries, adverse events and addenda.

A signed visit is locked for every write path: the actions refuse it, the models' ``save``/``delete`` and
their querysets' ``update``/``delete`` refuse it, and database triggers (migration 0002) refuse UPDATE and
DELETE of a signed visit and of its needling entries on SQLite and PostgreSQL alike. Corrections are
addenda, which are append-only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from needlepoint.accounts.models import Membership
from needlepoint.patients.models import Episode, PatientRecord
from needlepoint.visits.adverse_events import adverse_event_types, severities

_M = TypeVar("_M", bound=models.Model)

OVERDUE_AFTER = timedelta(hours=24)
SIGNED_VISIT_LOCKED = "This visit is signed and locked; add a dated addendum to correct it."


class VisitLocked(ValidationError):
    """A write to a signed visit, its needling entries or an addendum was refused."""

    def __init__(self, message: str = SIGNED_VISIT_LOCKED) -> None:
        super().__init__(message)


class Intervention(models.TextChoices):
    """Care given in a visit besides needling."""

    THERAPEUTIC_EXERCISE = "therapeutic_exercise", gettext_lazy("Therapeutic exercise")
    MANUAL_THERAPY = "manual_therapy", gettext_lazy("Manual therapy")
    EDUCATION = "education", gettext_lazy("Education")
    HEAT = "heat", gettext_lazy("Heat")
    OTHER = "other", gettext_lazy("Other")


class VisitQuerySet(models.QuerySet["Visit"]):
    """Bulk writes refuse signed visits, as ``Visit.save`` and ``Visit.delete`` do."""

    def update(self, **kwargs: Any) -> int:
        if self.filter(signed_at__isnull=False).exists():
            raise VisitLocked()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(signed_at__isnull=False).exists():
            raise VisitLocked()
        return super().delete()

    def unsigned(self) -> VisitQuerySet:
        """Visits not yet signed."""
        return self.filter(signed_at__isnull=True)

    def overdue(self, now: datetime | None = None) -> VisitQuerySet:
        """Unsigned visits that started more than 24 hours ago."""
        return self.filter(signed_at__isnull=True, started_at__lt=(now or timezone.now()) - OVERDUE_AFTER)


class Visit(PatientRecord):
    """One treatment visit in an episode of care: pain, report, needling, needle counts, note, signature.

    ``needles_inserted`` is the sum of the needling entries' needles, kept by the actions. ``version`` goes
    up with every change, so two clinicians editing at once cannot overwrite each other.
    """

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="visits")
    clinician = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    pain_before = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=gettext_lazy("0-10, before treatment")
    )
    pain_after = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=gettext_lazy("0-10, after treatment")
    )
    subjective = models.TextField("subjective report", blank=True)
    interventions = models.JSONField(
        default=list, blank=True, help_text=gettext_lazy("Other care given (Intervention codes)")
    )
    interventions_other = models.CharField("other intervention", max_length=200, blank=True)
    assessment = models.TextField(blank=True)
    plan = models.TextField(blank=True)
    needles_opened = models.PositiveSmallIntegerField(default=0)
    needles_inserted = models.PositiveSmallIntegerField(default=0)
    needles_removed = models.PositiveSmallIntegerField(default=0)
    needles_in_sharps = models.PositiveSmallIntegerField(default=0)
    acknowledgements = models.JSONField(
        default=dict, blank=True, help_text=gettext_lazy("Safety warning key -> reason to proceed, who and when")
    )
    patient_positions = models.JSONField(
        "patient position",
        default=list,
        blank=True,
        help_text=gettext_lazy("Positions the patient was needled in (codes)"),
    )
    clean_technique = models.JSONField(
        default=dict,
        blank=True,
        help_text=gettext_lazy("Clean-technique checklist: items confirmed and whether gloves were worn"),
    )
    clean_technique_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    clean_technique_at = models.DateTimeField(null=True, blank=True)
    cpt_code = models.CharField("CPT", max_length=5, blank=True, help_text=gettext_lazy("Fixed at signing"))
    cpt_muscle_count = models.PositiveSmallIntegerField(null=True, blank=True)
    note_text = models.TextField(blank=True, help_text=gettext_lazy("The SOAP note as signed"))
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    taken_over_from = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=gettext_lazy("The clinician who had the unsigned visit before another took it over"),
    )
    taken_over_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(pain_before__lte=10), name="visit_pain_before_0_10"),
            models.CheckConstraint(condition=Q(pain_after__lte=10), name="visit_pain_after_0_10"),
            models.CheckConstraint(
                condition=Q(needles_inserted__lte=F("needles_opened")), name="visit_inserted_within_opened"
            ),
            models.CheckConstraint(
                condition=Q(needles_removed__lte=F("needles_inserted")), name="visit_removed_within_inserted"
            ),
            models.CheckConstraint(
                condition=Q(needles_in_sharps__lte=F("needles_opened") - F("needles_inserted") + F("needles_removed")),
                name="visit_sharps_within_out_of_patient",
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True)
                | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="visit_signed_with_signer",
            ),
            models.CheckConstraint(condition=Q(cpt_code__in=["", "20560", "20561"]), name="visit_one_cpt_code"),
        ]
        indexes = [
            models.Index(fields=["episode", "-started_at"], name="visit_episode_time"),
            # The evidence report's first visits per episode (cohort, relief before visits 2 and 3) in visit order,
            # read from the index alone on PostgreSQL (SQLite ignores INCLUDE and uses the key columns).
            models.Index(
                fields=["episode", "started_at", "id"],
                include=["clinic", "needles_inserted", "pain_before", "pain_after"],
                name="visit_episode_order",
            ),
            models.Index(fields=["patient", "-started_at"], name="visit_patient_time"),
            models.Index(fields=["clinician", "-started_at"], name="visit_clinician_time"),
            models.Index(fields=["patient", "clinician", "started_at"], name="visit_patient_clinician"),
            models.Index(fields=["clinic", "-started_at"], name="visit_clinic_time"),
            models.Index(
                fields=["clinic", "clinician", "started_at"],
                condition=Q(signed_at__isnull=True),
                name="visit_unsigned",
            ),
        ]

    def __str__(self) -> str:
        return f"Visit {self.started_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Read the stored row, not this instance: a copy loaded before signing must not overwrite the signed one.
        if not self._state.adding and Visit.objects.filter(pk=self.pk, signed_at__isnull=False).exists():
            raise VisitLocked()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if self.signed_at is not None or Visit.objects.filter(pk=self.pk, signed_at__isnull=False).exists():
            raise VisitLocked()
        return super().delete(*args, **kwargs)

    @property
    def is_overdue(self) -> bool:
        """Unsigned more than 24 hours after it started."""
        return self.signed_at is None and self.started_at < timezone.now() - OVERDUE_AFTER

    def intervention_labels(self) -> list[str]:
        """The other interventions, as a clinician reads them."""
        labels = {code: str(label) for code, label in Intervention.choices}  # plain text, not lazy translations
        named = [labels.get(code, code) for code in self.interventions if code != Intervention.OTHER]
        if Intervention.OTHER in self.interventions:
            named.append(self.interventions_other or "Other")
        return named

    def audit_summary(self) -> str:
        return f"visit {'signed' if self.signed_at else 'draft'} v{self.version}"


class Side(models.TextChoices):
    """The side of the body a muscle was needled on."""

    LEFT = "left", gettext_lazy("Left")
    RIGHT = "right", gettext_lazy("Right")


class Technique(models.TextChoices):
    """How the needle was worked [S14, S27, S28]."""

    STATIC = "static", gettext_lazy("Static")
    PISTONING = "pistoning", gettext_lazy("Pistoning / fast-in fast-out")
    ROTATION = "rotation", gettext_lazy("Rotation")
    ELECTRICAL_STIMULATION = "electrical_stimulation", gettext_lazy("With electrical stimulation")


class TwitchResponse(models.TextChoices):
    """Local twitch responses seen during needling."""

    NONE = "none", gettext_lazy("None")
    SINGLE = "single", gettext_lazy("Single")
    SEVERAL = "several", gettext_lazy("Several")


# Techniques that leave the needle in place, so the time left in is recorded.
LEFT_IN_TECHNIQUES = (Technique.STATIC, Technique.ELECTRICAL_STIMULATION)


class NeedlingEntryQuerySet(models.QuerySet["NeedlingEntry"]):
    """Bulk writes refuse entries of signed visits."""

    def update(self, **kwargs: Any) -> int:
        if self.filter(visit__signed_at__isnull=False).exists():
            raise VisitLocked()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(visit__signed_at__isnull=False).exists():
            raise VisitLocked()
        return super().delete()


class NeedlingEntry(PatientRecord):
    """One muscle needled on one side in a visit: needles, size, technique, twitch response, response."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="needling_entries")
    position = models.PositiveSmallIntegerField(default=0)
    muscle_id = models.CharField(max_length=60)
    side = models.CharField(max_length=5, choices=Side.choices)
    trigger_point = models.CharField(max_length=60, blank=True)
    needles = models.PositiveSmallIntegerField(help_text=gettext_lazy("Needles inserted"))
    diameter_mm = models.DecimalField("diameter (mm)", max_digits=4, decimal_places=2)
    length_mm = models.DecimalField("length (mm)", max_digits=5, decimal_places=1)
    technique = models.CharField(max_length=30, choices=Technique.choices)
    twitch_response = models.CharField("local twitch response", max_length=10, choices=TwitchResponse.choices)
    minutes_left_in = models.PositiveSmallIntegerField(null=True, blank=True)
    patient_response = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = NeedlingEntryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(needles__gte=1), name="needling_at_least_one_needle"),
            models.CheckConstraint(condition=Q(side__in=["left", "right"]), name="needling_side_left_right"),
            models.CheckConstraint(condition=Q(diameter_mm__gt=0, length_mm__gt=0), name="needling_size_positive"),
        ]
        indexes = [models.Index(fields=["visit", "position"], name="needling_visit_position")]
        verbose_name_plural = "needling entries"

    def __str__(self) -> str:
        return f"{self.muscle_id} ({self.side}), {self.needles} needle(s)"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if Visit.objects.filter(pk=self.visit_id, signed_at__isnull=False).exists():
            raise VisitLocked()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if Visit.objects.filter(pk=self.visit_id, signed_at__isnull=False).exists():
            raise VisitLocked()
        return super().delete(*args, **kwargs)

    @property
    def electrical_stimulation(self) -> bool:
        """Whether the needles were connected to electrical stimulation."""
        return self.technique == Technique.ELECTRICAL_STIMULATION

    def audit_summary(self) -> str:
        return f"needling {self.muscle_id} {self.side} x{self.needles}"


class AppendOnlyQuerySet(models.QuerySet[_M]):
    """Rows that may be added and read, never changed or removed."""

    def update(self, **kwargs: Any) -> int:
        raise VisitLocked(f"{str(self.model._meta.verbose_name_plural).capitalize()} cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise VisitLocked(f"{str(self.model._meta.verbose_name_plural).capitalize()} cannot be deleted.")


class Addendum(PatientRecord):
    """A dated correction or addition to a signed visit, by its signer or another clinician. Append-only."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(default=timezone.now)
    text = models.TextField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["visit", "written_at"], name="addendum_visit_time")]
        verbose_name_plural = "addenda"

    def __str__(self) -> str:
        return f"Addendum {self.written_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise VisitLocked("An addendum cannot be changed; add another addendum.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise VisitLocked("An addendum cannot be deleted.")

    def audit_summary(self) -> str:
        return "addendum"


class AfterCareGiven(PatientRecord):
    """The after-care sheet of a needling visit given to the patient: how (e-mail, text message or printed and
    handed over), to where, when and by whom. Append-only: a second way of giving it is a second row."""

    class How(models.TextChoices):
        EMAIL = "email", gettext_lazy("E-mail")
        SMS = "sms", gettext_lazy("Text message")
        PRINTED = "printed", gettext_lazy("Printed and handed over")

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="after_care_given")
    how = models.CharField(max_length=7, choices=How.choices)
    sent_to = models.CharField(
        max_length=254, blank=True, help_text=gettext_lazy("The e-mail address or E.164 number; blank when printed")
    )
    given_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    given_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["visit", "given_at"], name="aftercare_visit_time")]
        verbose_name = "after-care sheet given"
        verbose_name_plural = "after-care sheets given"

    def __str__(self) -> str:
        to = f" to {self.sent_to}" if self.sent_to else ""
        return f"{self.get_how_display()}{to} on {timezone.localtime(self.given_at):%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise VisitLocked("A record of after-care given cannot be changed; record another.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise VisitLocked("A record of after-care given cannot be deleted.")

    def audit_summary(self) -> str:
        return f"after-care sheet given: {self}"


class Outcome(models.TextChoices):
    """Where an adverse event stands (FHIR R4 AdverseEvent.outcome)."""

    ONGOING = "ongoing", gettext_lazy("Ongoing")
    RECOVERING = "recovering", gettext_lazy("Recovering")
    RESOLVED = "resolved", gettext_lazy("Resolved")
    RESOLVED_WITH_SEQUELAE = "resolved_with_sequelae", gettext_lazy("Resolved with lasting effects")
    FATAL = "fatal", gettext_lazy("Fatal")
    UNKNOWN = "unknown", gettext_lazy("Unknown (lost to follow-up)")


# Outcomes with which an adverse event may be closed.
CLOSING_OUTCOMES = (Outcome.RESOLVED, Outcome.RESOLVED_WITH_SEQUELAE, Outcome.FATAL, Outcome.UNKNOWN)


class NoDeleteQuerySet(models.QuerySet[_M]):
    """Rows that are never deleted (changes go through the actions)."""

    def delete(self) -> tuple[int, dict[str, int]]:
        raise VisitLocked(f"{str(self.model._meta.verbose_name_plural).capitalize()} cannot be deleted.")


class AdverseEvent(PatientRecord):
    """An adverse event after needling (White et al.'s classification [S5]), open until a follow-up closes it.

    A "needle unaccounted for" incident is an adverse event of type ``needle_left_in`` that also records
    how many needles, the search made and the action taken; it lets a visit with missing needles be signed.
    """

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="adverse_events")
    event_type = models.CharField(max_length=40)
    severity = models.CharField(max_length=20)
    description = models.TextField(blank=True)
    onset_at = models.DateTimeField()
    action_taken = models.TextField()
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    follow_up_due = models.DateField(null=True, blank=True)
    needles_unaccounted = models.PositiveSmallIntegerField(null=True, blank=True)
    search_made = models.TextField(blank=True)
    observed_minutes = models.PositiveSmallIntegerField(
        "minutes observed after recovery", null=True, blank=True, help_text=gettext_lazy("Vasovagal events")
    )
    driving_advice_given = models.BooleanField(
        default=False, help_text=gettext_lazy("Vasovagal events: no driving until recovered")
    )
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    # When the row last changed (FHIR meta.lastUpdated and Last-Modified); rows older than the field got theirs
    # from their follow-ups (migration 0006).
    updated_at = models.DateTimeField(auto_now=True, null=True)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_at__isnull=False) | Q(follow_up_due__isnull=False),
                name="open_adverse_event_has_follow_up",
            ),
            models.CheckConstraint(
                condition=Q(needles_unaccounted__isnull=True)
                | Q(needles_unaccounted__gte=1, event_type="needle_left_in"),
                name="needle_incident_counts_needles",
            ),
            models.CheckConstraint(
                condition=Q(observed_minutes__isnull=True) | Q(event_type="vasovagal", driving_advice_given=True),
                name="vasovagal_observed_with_advice",
            ),
        ]
        indexes = [
            models.Index(fields=["visit"], name="adverse_event_visit"),
            models.Index(
                fields=["clinic", "follow_up_due"], condition=Q(closed_at__isnull=True), name="adverse_event_open"
            ),
            models.Index(fields=["clinic", "onset_at"], name="adverse_event_clinic_onset"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} ({self.severity}) {self.onset_at:%Y-%m-%d}"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise VisitLocked("An adverse event cannot be deleted; record a follow-up instead.")

    @property
    def is_open(self) -> bool:
        """Open until a follow-up closes it."""
        return self.closed_at is None

    @property
    def type_label(self) -> str:
        """The event type as the adverse-event catalogue names it."""
        return next((t.label for t in adverse_event_types() if t.code == self.event_type), self.event_type)

    @property
    def severity_label(self) -> str:
        """The severity as the catalogue names it (mild, significant, serious)."""
        return next((s.label for s in severities() if s.code == self.severity), self.severity)

    @property
    def is_needle_incident(self) -> bool:
        """A 'needle unaccounted for' incident."""
        return self.needles_unaccounted is not None

    @property
    def follow_up_overdue(self) -> bool:
        """Open and its follow-up date has come."""
        return self.closed_at is None and self.follow_up_due is not None and self.follow_up_due <= timezone.localdate()

    @property
    def after_care(self) -> str:
        """A vasovagal event's observation and driving advice, as printed on the event and the note."""
        from needlepoint.visits.clinic_safety import vasovagal_text

        return vasovagal_text(self.observed_minutes, self.driving_advice_given)

    def audit_summary(self) -> str:
        return f"adverse event {self.event_type} {self.severity} {'open' if self.closed_at is None else 'closed'}"


class AdverseEventFollowUp(PatientRecord):
    """A follow-up of an adverse event: what was found, the outcome, and the next date or the closing."""

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="follow_ups")
    by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField()
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    next_follow_up_due = models.DateField(null=True, blank=True)
    closes_event = models.BooleanField(default=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["event", "at"], name="follow_up_event_time")]

    def __str__(self) -> str:
        return f"Follow-up {self.at:%Y-%m-%d}: {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise VisitLocked("A follow-up cannot be changed; record another follow-up.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise VisitLocked("A follow-up cannot be deleted.")

    def audit_summary(self) -> str:
        return f"adverse event follow-up {self.outcome}{' (closed)' if self.closes_event else ''}"


class NeedleStickSource(models.TextChoices):
    """Where the needle that injured a member of staff had been."""

    PATIENT = "patient", gettext_lazy("Used on a named patient")
    CLEAN_NEEDLE = "clean_needle", gettext_lazy("Clean, unused needle (no source)")
    UNKNOWN = "unknown", gettext_lazy("Used, source cannot be identified")


class SourceConsent(models.TextChoices):
    """The source patient's decision on blood-borne virus testing (asked before the record is kept)."""

    CONSENTED = "consented", gettext_lazy("Consented to testing")
    DECLINED = "declined", gettext_lazy("Declined testing")


class PepDecision(models.TextChoices):
    """The post-exposure prophylaxis decision for the injured member of staff."""

    NOT_INDICATED = "not_indicated", gettext_lazy("Not indicated (assessed)")
    STARTED = "started", gettext_lazy("Started")
    DECLINED = "declined", gettext_lazy("Offered and declined")


class NeedleStickIncident(models.Model):
    """A needle-stick injury to a member of staff: not a patient adverse event but an occupational one.

    It names who was injured and when, the source patient (and visit) if the needle had been used on one,
    and the protocol steps each with its time: wound washed, reported to the clinic lead, the source
    patient's consent decision on testing, and the post-exposure prophylaxis decision. It stays open, with
    a follow-up date, until closed; it is never deleted. Clinic-scoped and audited (the audit entry names
    the source patient, whose testing decision it records).
    """

    audit_trail = True

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    injured = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField()
    description = models.TextField(help_text=gettext_lazy("How it happened and the injury"))
    source_kind = models.CharField("source of the needle", max_length=20, choices=NeedleStickSource.choices)
    source_patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    source_visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    source_consent = models.CharField(
        "source patient's testing decision", max_length=20, choices=SourceConsent.choices, blank=True
    )
    source_consent_at = models.DateTimeField(null=True, blank=True)
    wound_washed_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    reported_to = models.CharField("reported to (clinic lead)", max_length=150, blank=True)
    pep_decision = models.CharField("post-exposure prophylaxis", max_length=20, choices=PepDecision.choices, blank=True)
    pep_decided_at = models.DateTimeField(null=True, blank=True)
    follow_up_due = models.DateField(null=True, blank=True)
    closing_note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = NoDeleteQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(source_kind="patient", source_patient__isnull=False)
                | (~Q(source_kind="patient") & Q(source_patient__isnull=True, source_visit__isnull=True)),
                name="needle_stick_source_patient_named",
            ),
            models.CheckConstraint(
                condition=Q(source_patient__isnull=True, source_consent="")
                | (Q(source_patient__isnull=False) & ~Q(source_consent="")),
                name="needle_stick_source_consent_decided",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=False) | Q(follow_up_due__isnull=False),
                name="open_needle_stick_has_follow_up",
            ),
        ]
        indexes = [
            models.Index(
                fields=["clinic", "follow_up_due"], condition=Q(closed_at__isnull=True), name="needle_stick_open"
            ),
            models.Index(fields=["clinic", "-occurred_at"], name="needle_stick_clinic_time"),
        ]

    def __str__(self) -> str:
        return f"Needle-stick injury {self.occurred_at:%Y-%m-%d %H:%M}"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise VisitLocked("A needle-stick incident cannot be deleted; close it with a note instead.")

    @property
    def patient_id(self) -> int | None:
        """The source patient, so the audit trail files the record under that patient too."""
        return self.source_patient_id

    @property
    def is_open(self) -> bool:
        """Open until closed with a note."""
        return self.closed_at is None

    @property
    def follow_up_overdue(self) -> bool:
        """Open and its follow-up date has come."""
        return self.closed_at is None and self.follow_up_due is not None and self.follow_up_due <= timezone.localdate()

    def steps_missing(self) -> list[str]:
        """The protocol steps not yet recorded (the incident cannot be closed until there are none)."""
        from needlepoint.visits.clinic_safety import needle_stick_steps_missing

        return needle_stick_steps_missing(
            wound_washed=self.wound_washed_at is not None,
            reported=self.reported_at is not None,
            source_patient_named=self.source_patient_id is not None,
            source_consent=self.source_consent,
            pep_decision=self.pep_decision,
        )

    def audit_summary(self) -> str:
        return f"needle-stick incident {self.source_kind} {'open' if self.closed_at is None else 'closed'}"
