"""The bulk export jobs of FHIR Bulk Data Access 2.0 ($export): what was asked, by whom, and what was written."""

from __future__ import annotations

import uuid

from django.db import models


class ExportJob(models.Model):
    """One $export request of a clinic: queued by the kick-off, run by ``needlepoint fhir export-worker``, its
    ndjson files kept in DATA_DIR/exports/<id>/ until ``expires_at``. ``manifest`` lists the files written
    (type, file name, resources, bytes); ``progress`` is what the status answer's X-Progress says."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Level(models.TextChoices):
        SYSTEM = "system", "The whole clinic"
        GROUP = "group", "A group of the clinic's patients"
        PATIENT = "patient", "Patients"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="export_jobs")
    requested_by = models.ForeignKey("accounts.Membership", on_delete=models.PROTECT, related_name="export_jobs")
    level = models.CharField(max_length=10, choices=Level.choices)
    group_id = models.CharField(max_length=64, blank=True)
    patient_ids = models.JSONField(default=list, blank=True)  # empty: every patient the level takes
    types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.CharField(max_length=100, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    manifest = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self) -> str:
        return f"FHIR export {self.id} ({self.get_status_display()})"
