"""Assessments with their pain drawing, and the trigger points found on palpation.

The atlas itself (regions, muscles, trigger points, referral zones, hazards) lives in data files
(``catalogue.py``); these models hold only what a clinician records for one patient. A drawing is stored
as JSON ``{region_code: intensity 0-10 or null}``; a finding names its muscle and trigger point by the
catalogue's ids. The actions in ``actions.py`` validate both against the catalogue before anything is saved.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from needlepoint.accounts.models import Membership
from needlepoint.patients.models import Episode, PatientRecord


class Assessment(PatientRecord):
    """An examination in an episode of care: the pain drawing on the body chart, with notes.

    The first is the initial assessment; later ones (re-assessment, discharge) are shown beside it.
    ``version`` rises with every saved change, so two clinicians editing at once get a conflict.
    """

    class Kind(models.TextChoices):
        """When in the episode the assessment was made."""

        INITIAL = "initial", gettext_lazy("Initial assessment")
        REASSESSMENT = "reassessment", gettext_lazy("Re-assessment")
        DISCHARGE = "discharge", gettext_lazy("Discharge assessment")

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="assessments")
    assessed_at = models.DateTimeField(default=timezone.now)
    clinician = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    drawing = models.JSONField(
        default=dict, blank=True, help_text=gettext_lazy("Region code -> pain 0-10, or null if unrated")
    )
    notes = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The findings not struck out, set by the API's Prefetch(to_attr="live_findings"); not a column.
    live_findings: list[PalpationFinding]

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["initial", "reassessment", "discharge"]), name="assessment_kind_known"
            ),
        ]
        indexes = [models.Index(fields=["episode", "-assessed_at"], name="assessment_episode_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.assessed_at:%Y-%m-%d}"

    @property
    def region_count(self) -> int:
        """How many regions the drawing marks (rated 0 included)."""
        return len(self.drawing or {})

    def audit_summary(self) -> str:
        """What the audit trail says about a write."""
        return f"assessment {self.kind} v{self.version}, {self.region_count} regions"


class PatientPainDrawing(PatientRecord):
    """The patient's own pain drawing, made on their phone through a self-report link: patient-reported, never
    edited by staff. It keeps the address and device (user agent) it came from, as the link's other answers do,
    and is shown beside the clinician's drawing on the assessment page."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="patient_drawings")
    drawing = models.JSONField(help_text=gettext_lazy("Region code -> pain 0-10, or null if unrated"))
    drawn_at = models.DateTimeField(default=timezone.now)
    submitted_from = models.GenericIPAddressField(
        null=True, blank=True, help_text=gettext_lazy("The address it came from")
    )
    submitted_user_agent = models.CharField(
        max_length=300, blank=True, help_text=gettext_lazy("The browser it came from")
    )

    class Meta:
        indexes = [models.Index(fields=["episode", "-drawn_at"], name="patientdrawing_episode_time")]

    def __str__(self) -> str:
        return f"Patient's pain drawing {self.drawn_at:%Y-%m-%d}"

    def audit_summary(self) -> str:
        """What the audit trail says about the write."""
        return f"patient's own pain drawing, {len(self.drawing or {})} regions"


class PalpationFinding(PatientRecord):
    """A trigger point found on palpation at an assessment: muscle, side, trigger point and what it did.

    A finding removed as a mistake keeps its row (``removed_at``), so the audit trail and the record agree.
    """

    class Side(models.TextChoices):
        """The side of the body the trigger point was found on."""

        LEFT = "left", gettext_lazy("Left")
        RIGHT = "right", gettext_lazy("Right")

    class Status(models.TextChoices):
        """Active (spontaneously painful) or latent (painful only when pressed)."""

        ACTIVE = "active", gettext_lazy("Active")
        LATENT = "latent", gettext_lazy("Latent")

    class Twitch(models.TextChoices):
        """Local twitch responses seen on palpation."""

        NONE = "none", gettext_lazy("None")
        SINGLE = "single", gettext_lazy("Single")
        SEVERAL = "several", gettext_lazy("Several")

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="findings")
    muscle_id = models.CharField(max_length=60)
    side = models.CharField(max_length=5, choices=Side.choices)
    trigger_point = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    twitch_response = models.CharField("local twitch response", max_length=10, choices=Twitch.choices)
    reproduces_familiar_pain = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(side__in=["left", "right"]), name="finding_side_left_right"),
            models.CheckConstraint(condition=Q(status__in=["active", "latent"]), name="finding_status_known"),
            models.CheckConstraint(
                condition=Q(twitch_response__in=["none", "single", "several"]), name="finding_twitch_known"
            ),
            models.UniqueConstraint(
                fields=["assessment", "muscle_id", "side", "trigger_point"],
                condition=Q(removed_at__isnull=True),
                name="one_finding_per_trigger_point",
            ),
        ]

    def __str__(self) -> str:
        point = f" {self.trigger_point}" if self.trigger_point else ""
        return f"{self.muscle_id}{point} ({self.side}), {self.status}"

    def audit_summary(self) -> str:
        """What the audit trail says about a write."""
        state = "removed" if self.removed_at else self.status
        return f"palpation {self.muscle_id} {self.side} {self.trigger_point or '-'} {state}"
