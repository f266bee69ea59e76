"""Clinics, users, memberships (one role per clinic), API tokens, login throttling and the audit trail."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from needlepoint.accounts import audit_chain, field_crypto
from needlepoint.accounts.roles import Capability, Role, role_can


class Clinic(models.Model):
    """A clinic: every patient-scoped row carries its clinic, so an access check is one filter."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    mrn_prefix = models.CharField(max_length=6, default="NP", help_text=gettext_lazy("Prefix of generated MRNs"))
    next_mrn_number = models.PositiveBigIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    # The needling gate refuses patients younger than this. No dry-needling guideline found gives a
    # minimum age (children are a relative contraindication, age-related inability to consent an absolute
    # one [S8, S9]), so 12 is a conservative default, unverified; each clinic sets its own.
    minimum_needling_age = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(0), MaxValueValidator(18)],
        help_text=gettext_lazy(
            "Patients younger than this (in years) are not needled; under 18 needs a guardian's consent."
        ),
    )
    # The letterhead printed on visit notes, referral letters and progress reports: a doctor or patient
    # keeping the paper needs to know where it came from and how to reach the clinic.
    address = models.TextField(blank=True, help_text=gettext_lazy("Postal address, one line per line as printed."))
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True, help_text=gettext_lazy("Optional."))

    class TwoFactorPolicy(models.TextChoices):
        ADMINS = "admins", gettext_lazy("Required for clinic admins")
        EVERYONE = "everyone", gettext_lazy("Required for everyone")
        # Only the demo and synthetic clinics use this, so the README's demo logins work with a password alone.
        DEMO_NOT_REQUIRED = "demo_not_required", gettext_lazy("Not required (demo clinic only)")

    two_factor_policy = models.CharField(
        max_length=20,
        choices=TwoFactorPolicy.choices,
        default=TwoFactorPolicy.ADMINS,
        help_text=gettext_lazy("Who must sign in with a second factor (an authenticator app code or a recovery code)."),
    )

    # Off unless a clinic admin switches it on: a Social Security number from another system (a FHIR import) is
    # then left out, and the import's answer says so. Treating a patient never needs one, and a number not kept
    # cannot leak (patients.demographics.identifier_not_kept applies it).
    keep_social_security_numbers = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Keep Social Security numbers received from other systems (shown masked, sent whole in FHIR)."
        ),
    )

    def __str__(self) -> str:
        return self.name

    @property
    def contact_lines(self) -> list[str]:
        """The letterhead's contact lines as printed: address lines, then phone, e-mail and website."""
        lines = [line.strip() for line in self.address.splitlines() if line.strip()]
        contact = [f"Phone {self.phone}" if self.phone else "", self.email, self.website]
        joined = " · ".join(c for c in contact if c)
        return lines + ([joined] if joined else [])


class User(AbstractUser):
    """A person who signs in: clinician, front desk or clinic admin (the role lives on the membership)."""

    def active_memberships(self) -> models.QuerySet[Membership]:
        """The memberships this user can act under, first clinic first."""
        return self.memberships.filter(is_active=True).select_related("clinic").order_by("clinic_id")

    def needs_second_factor(self) -> bool:
        """Whether a clinic this user works in requires a second factor of them (admins always, or everyone)."""
        policy = Clinic.TwoFactorPolicy
        for membership in self.active_memberships():
            if membership.clinic.two_factor_policy == policy.EVERYONE:
                return True
            if membership.clinic.two_factor_policy == policy.ADMINS and membership.role == Role.CLINIC_ADMIN:
                return True
        return False

    def has_second_factor(self) -> bool:
        """Whether this user has a confirmed authenticator app or a passkey."""
        return (
            TotpDevice.objects.filter(user=self, confirmed_at__isnull=False).exists()
            or Passkey.objects.filter(user=self).exists()
        )

    def has_authenticator_app(self) -> bool:
        """Whether this user has a confirmed authenticator app (codes and recovery codes)."""
        return TotpDevice.objects.filter(user=self, confirmed_at__isnull=False).exists()


def member_name_fields(relation: str) -> tuple[str, ...]:
    """What a list needs of a clinic member to name them (``user.get_full_name``), through ``relation``
    (``"clinician"``): for ``.only`` on a query of records that name a member."""
    return (f"{relation}__id", f"{relation}__user__id", f"{relation}__user__first_name", f"{relation}__user__last_name")


class Membership(models.Model):
    """A user's one role in one clinic, with the professional details a clinician's note carries."""

    class Profession(models.TextChoices):
        PHYSICAL_THERAPIST = "physical_therapist", gettext_lazy("Physical therapist")
        CHIROPRACTOR = "chiropractor", gettext_lazy("Chiropractor")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=[(r.value, r.value.replace("_", " ").title()) for r in Role])
    profession = models.CharField(max_length=30, choices=Profession.choices, blank=True)
    licence_number = models.CharField(max_length=60, blank=True)
    is_active = models.BooleanField(default=True)
    # The membership as a FHIR Practitioner: its version and when it last changed (meta, ETag, Last-Modified).
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)
    # Not a column: set on a request's membership by access.limit_to_patient (a SMART app's patient/ scope).
    only_patient_id: int | None

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "clinic"], name="one_role_per_clinic")]

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.username} ({self.get_role_display()}, {self.clinic})"

    def can(self, capability: Capability) -> bool:
        """Whether this membership's role holds a capability."""
        return self.is_active and role_can(self.role, capability)

    @property
    def display_name(self) -> str:
        """Name with profession and licence, as a signed note shows its clinician."""
        name = self.user.get_full_name() or self.user.username
        if self.role == Role.CLINICIAN and self.profession:
            detail = self.get_profession_display()
            if self.licence_number:
                detail += f", licence {self.licence_number}"
            return f"{name} ({detail})"
        return name


class HashedToken:
    """A secret handed out once and kept only as its SHA-256 hash (API tokens, calendar feeds)."""

    PREFIX = ""

    @staticmethod
    def hash_token(raw: str) -> str:
        """The stored form of a raw token."""
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def generate_raw(cls) -> str:
        """A new unguessable token (256 bits after the prefix)."""
        return cls.PREFIX + secrets.token_urlsafe(32)


class ApiToken(HashedToken, models.Model):
    """A per-user API token; only its SHA-256 hash is stored, the token itself is shown once."""

    PREFIX = "np_"

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(
        max_length=12, help_text=gettext_lazy("First characters, so the user can tell tokens apart")
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text=gettext_lazy("The token is refused from this moment on"))
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"


class SignInCounter(models.Model):
    """Password checks spent in the current window by one username or one address.

    One row per key ("user:alice", "address:203.0.113.5"), changed only by conditional UPDATEs, so parallel
    guesses cannot spend more checks than the limit (see ``needlepoint.accounts.throttle``).
    """

    key = models.CharField(max_length=200, unique=True)
    checks = models.PositiveIntegerField(
        default=0, help_text=gettext_lazy("Password checks spent (refunded on success)")
    )
    window_started_at = models.DateTimeField(default=timezone.now)
    next_check_at = models.DateTimeField(
        default=timezone.now, help_text=gettext_lazy("Over the limit: no check before this")
    )

    def __str__(self) -> str:
        return f"{self.key}: {self.checks} since {self.window_started_at:%Y-%m-%d %H:%M}"


class TotpDevice(models.Model):
    """A user's authenticator app: the shared TOTP secret (RFC 6238), usable once confirmed with a code.

    The secret is stored encrypted (``field_crypto``); ``secret`` reads and sets it in plain text.
    """

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="totp_device")
    encrypted_secret = models.CharField(
        max_length=255, help_text=gettext_lazy("Base32 secret shared with the authenticator app, encrypted (Fernet)")
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # A code is accepted once: the time step of the last accepted code, so a watched code cannot be replayed.
    last_used_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"authenticator app of {self.user}"

    @property
    def secret(self) -> str:
        """The base32 secret in plain text, decrypted for computing or showing a code."""
        return field_crypto.decrypt(self.encrypted_secret)

    @secret.setter
    def secret(self, plaintext: str) -> None:
        self.encrypted_secret = field_crypto.encrypt(plaintext)


class Passkey(models.Model):
    """A WebAuthn credential (a passkey on a phone, laptop or security key) used as the second factor."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="passkeys")
    name = models.CharField(max_length=100, help_text=gettext_lazy("Which device, so the user can tell passkeys apart"))
    credential_id = models.CharField(max_length=1400, unique=True, help_text=gettext_lazy("base64url credential id"))
    public_key = models.BinaryField(help_text=gettext_lazy("COSE public key the authenticator registered"))
    sign_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"passkey {self.name} of {self.user}"


class RecoveryCode(models.Model):
    """A one-time code to sign in when the authenticator app is lost; only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code of {self.user} ({'used' if self.used_at else 'unused'})"


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    """Audit entries can be added and read, never changed or removed (also enforced by database triggers)."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries cannot be deleted")

    def bulk_create(self, objs: Iterable[AuditEntry], *args: Any, **kwargs: Any) -> list[AuditEntry]:
        """Insert many entries at once, each chained to the one before it, in the order given."""
        objs = list(objs)
        with transaction.atomic(using=self.db):
            previous = lock_audit_chain(self.db)
            for obj, (before, digest) in zip(
                objs, audit_chain.chain(previous, (obj.chained_content() for obj in objs)), strict=True
            ):
                obj.previous_hash, obj.entry_hash = before, digest
            return super().bulk_create(objs, *args, **kwargs)


# Any fixed number: the PostgreSQL advisory lock that lets one transaction at a time extend the chain.
AUDIT_CHAIN_LOCK = 7_301_946_117


def lock_audit_chain(using: str = "default") -> str:
    """Take the chain's lock until the end of the current transaction and return the last entry's hash.

    Appending waits for any other transaction that is appending, so entries are chained in id order and
    no two ever claim the same predecessor. SQLite needs no lock of its own: its transactions begin
    IMMEDIATE (settings), which already lets one writer at a time in.

    The lock is held through COMMIT, where PostgreSQL checks the transaction's (deferred) foreign keys with
    FOR KEY SHARE: so no code may hold a plain FOR UPDATE row lock while it waits for this lock; row locks are
    taken with ``select_for_update(no_key=True)``, which foreign-key checks do not wait for.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
    last = AuditEntry.objects.using(using).order_by("-pk").values_list("entry_hash", flat=True).first()
    return last or audit_chain.GENESIS


class AuditEntry(models.Model):
    """One read or write of patient data: who, what, which object, when and from where. Append-only."""

    class Action(models.TextChoices):
        CREATE = "create", gettext_lazy("Create")
        READ = "read", gettext_lazy("Read")
        UPDATE = "update", gettext_lazy("Update")
        SEARCH = "search", gettext_lazy("Search")
        EXPORT = "export", gettext_lazy("Export")
        LOGIN = "login", gettext_lazy("Sign in")
        LOGIN_FAILED = "login_failed", gettext_lazy("Failed sign-in")
        LOGOUT = "logout", gettext_lazy("Sign out")
        DENIED = "denied", gettext_lazy("Access refused")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, related_name="+")
    user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True, help_text=gettext_lazy("Who acted when not a user"))
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    via = models.CharField(max_length=10, default="web", help_text=gettext_lazy("web, api, cli or patient link"))
    client_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)
    previous_hash = models.CharField(
        max_length=64, blank=True, help_text=gettext_lazy("Hash of the entry before this one")
    )
    entry_hash = models.CharField(
        max_length=64, blank=True, help_text=gettext_lazy("SHA-256 of this entry and previous_hash")
    )

    objects = AuditQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "-at"], name="audit_clinic_time"),
            models.Index(fields=["clinic", "patient_id", "-at"], name="audit_clinic_patient"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("Audit entries cannot be changed")
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        # No savepoint of its own: inside a write's transaction the entry stands or falls with the write.
        with transaction.atomic(using=using, savepoint=False):
            self.previous_hash = lock_audit_chain(using)
            self.entry_hash = audit_chain.entry_hash(self.previous_hash, self.chained_content())
            super().save(*args, **kwargs)

    def chained_content(self) -> dict[str, Any]:
        """The values the hash covers, in the form the database keeps them (so a re-read hashes the same)."""
        content = {}
        for name in audit_chain.CHAINED_FIELDS:
            field = self._meta.get_field(name)  # also finds a foreign key by its column name (clinic_id)
            assert isinstance(field, models.Field)  # every chained name is a concrete column
            value = field.get_prep_value(getattr(self, field.attname))
            # The database keeps an empty address as NULL.
            value = None if name == "client_address" and not value else value
            setattr(self, field.attname, value)
            content[name] = value
        return content

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries cannot be deleted")
