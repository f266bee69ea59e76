"""The bulk export jobs of FHIR Bulk Data Access 2.0 ($export): what was asked, by whom, and what was written."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy


class ExportJob(models.Model):
    """One $export request of a clinic: queued by the kick-off, run by ``needlepoint fhir export-worker``, its
    ndjson files kept in DATA_DIR/exports/<id>/ until ``expires_at``. ``manifest`` lists the files written
    (type, file name, resources, bytes); ``progress`` is what the status answer's X-Progress says."""

    class Status(models.TextChoices):
        QUEUED = "queued", gettext_lazy("Queued")
        RUNNING = "running", gettext_lazy("Running")
        DONE = "done", gettext_lazy("Done")
        FAILED = "failed", gettext_lazy("Failed")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")

    class Level(models.TextChoices):
        SYSTEM = "system", gettext_lazy("The whole clinic")
        GROUP = "group", gettext_lazy("A group of the clinic's patients")
        PATIENT = "patient", gettext_lazy("Patients")

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


class SmartApp(models.Model):
    """A SMART on FHIR app a clinic admin registered: its OAuth client (django-oauth-toolkit's Application), the
    scopes it may ever ask for, and for a backend service the public keys (JWKS) its signed assertions are checked
    against. A backend service acts as the admin who registered it, so it never reaches more than that role."""

    class Kind(models.TextChoices):
        PUBLIC = "public", gettext_lazy("App used by staff, public client (browser or phone app, PKCE)")
        CONFIDENTIAL = (
            "confidential",
            gettext_lazy("App used by staff, confidential client (server with a secret, PKCE)"),
        )
        BACKEND = "backend", gettext_lazy("Backend service (no user; signed JWT, system scopes)")

    audit_trail = True

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.PROTECT, related_name="smart_app"
    )
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="smart_apps")
    registered_by = models.ForeignKey("accounts.Membership", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    allowed_scopes = models.TextField(help_text=gettext_lazy("The SMART scopes the app may ask for, space-separated"))
    launch_uri = models.URLField(
        blank=True, help_text=gettext_lazy("Where an EHR launch from a patient's page opens the app")
    )
    jwks = models.JSONField(
        default=dict, blank=True, help_text=gettext_lazy("A backend service's public keys (a JWK Set)")
    )
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.application.name)


class AppAuthorisation(models.Model):
    """A user's consent to one app: the scopes granted, the patient chosen at launch (patient/ scopes reach only
    that patient's records), and when it was revoked. Its tokens are linked through ``AuthorisedToken``; the
    code and the refresh-token family find it again at the token endpoint."""

    audit_trail = True

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    app = models.ForeignKey(SmartApp, on_delete=models.PROTECT, related_name="authorisations")
    membership = models.ForeignKey("accounts.Membership", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    scope = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    code_hash = models.CharField(max_length=64, blank=True, db_index=True)
    token_family = models.UUIDField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.app} for {self.membership}"


class AuthorisedToken(models.Model):
    """Which app, and which user's authorisation (none for a backend service), an OAuth access token speaks for."""

    access_token = models.OneToOneField("oauth2_provider.AccessToken", on_delete=models.CASCADE, related_name="smart")
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    app = models.ForeignKey(SmartApp, on_delete=models.PROTECT, related_name="+")
    authorisation = models.ForeignKey(
        AppAuthorisation, on_delete=models.PROTECT, null=True, blank=True, related_name="tokens"
    )

    def __str__(self) -> str:
        return f"token of {self.app}"


class EhrLaunch(models.Model):
    """A launch from a patient's page (SMART EHR launch): the opaque ``launch`` value the app brings back to the
    authorize endpoint, good for a few minutes and for the user who started it."""

    id = models.CharField(primary_key=True, max_length=43)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    app = models.ForeignKey(SmartApp, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey("accounts.Membership", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"launch of {self.app}"


class AssertionSeen(models.Model):
    """A backend service's signed assertion (its ``jti``), kept until it expires so it cannot be replayed."""

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    app = models.ForeignKey(SmartApp, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "jti"], name="assertion_used_once")]

    def __str__(self) -> str:
        return f"assertion {self.jti} of {self.app}"
