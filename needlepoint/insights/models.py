"""Outcome imports and the cohort (group) label of each imported episode.

An outcome import brings a clinic's spreadsheet history, or a published trial's dataset, into the clinic as one
episode per patient. The group or cohort a patient belonged to (a trial arm, a treatment programme) has no place
on the Episode itself, so it is kept here, one row per imported episode, beside the record of the import.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from needlepoint.accounts.models import Clinic, Membership
from needlepoint.patients.models import Episode


class OutcomeImport(models.Model):
    """One all-or-nothing import of an outcome CSV: who ran it, which file, the options and what it created."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="outcome_imports")
    imported_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    condition = models.CharField(max_length=40)
    options = models.JSONField(default=dict, help_text="The column names and settings the import was run with")
    summary = models.JSONField(default=dict, help_text="Rows read, patients, episodes and observations created")

    class Meta:
        indexes = [models.Index(fields=["clinic", "-imported_at"], name="outcome_import_clinic_time")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.imported_at:%Y-%m-%d %H:%M})"


class EpisodeCohort(models.Model):
    """The group or cohort label of one imported episode (e.g. a trial arm); empty when the file gave none."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    episode = models.OneToOneField(Episode, on_delete=models.PROTECT, related_name="cohort")
    outcome_import = models.ForeignKey(OutcomeImport, on_delete=models.PROTECT, related_name="cohorts")
    label = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [models.Index(fields=["clinic", "label"], name="episode_cohort_clinic_label")]

    def __str__(self) -> str:
        return self.label or "(no group recorded)"
