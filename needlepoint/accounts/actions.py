"""Writes of account data: users and memberships, passwords, second factors, API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext

from needlepoint.accounts import audit, two_factor
from needlepoint.accounts.models import ApiToken, Clinic, Membership, Passkey, RecoveryCode, TotpDevice, User
from needlepoint.accounts.roles import Capability, Role
from needlepoint.inputs import FORMULA_STARTS

NAME_LENGTH = 150  # Django's user name columns


def username_problem(username: str) -> str | None:
    """Why a username cannot be used, or None: Django's rule (letters, digits and @ . + - _, at most 150)
    and no leading = + - @, which a spreadsheet opening the audit CSV would run as a formula."""
    if len(username) > NAME_LENGTH:
        return f"A username has at most {NAME_LENGTH} characters."
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        return "A username uses only letters, digits and @ . + - _ (no spaces)."
    if username.startswith(FORMULA_STARTS):
        return "A username cannot start with = + - or @."
    return None


@transaction.atomic
def create_user(
    clinic: Clinic,
    username: str,
    password: str,
    role: str,
    *,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    profession: str = "",
    licence_number: str = "",
    check_password: bool = True,
) -> Membership:
    """Create a user with one role in ``clinic``; clinicians need a profession."""
    errors: dict[str, str] = {}
    if role not in Role.__members__.values() and role not in [r.value for r in Role]:
        errors["role"] = "Choose clinician, front_desk or clinic_admin."
    if role == Role.CLINICIAN and profession not in Membership.Profession.values:
        errors["profession"] = "A clinician is a physical_therapist or a chiropractor."
    if not username.strip():
        errors["username"] = "Choose a username."
    elif problem := username_problem(username.strip()):
        errors["username"] = problem
    elif User.objects.filter(username__iexact=username.strip()).exists():
        errors["username"] = "That username is taken."
    for name, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > NAME_LENGTH:
            errors[name] = f"At most {NAME_LENGTH} characters."
    if errors:
        raise ValidationError(errors)
    user = User(username=username.strip(), first_name=first_name, last_name=last_name, email=email)
    if check_password:
        validate_password(password, user)
    user.set_password(password)
    user.save()
    membership = Membership.objects.create(
        user=user, clinic=clinic, role=role, profession=profession, licence_number=licence_number
    )
    audit.record("create", membership, summary=f"user {user.username} as {role}", clinic_id=clinic.pk)
    return membership


@transaction.atomic
def create_api_token(membership: Membership, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new API token for the user in this clinic, expiring after ``days`` (default and maximum in settings).

    Returns the record and the raw token (shown once).
    """
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Name the token, e.g. the system that will use it."
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        errors["days"] = f"A token lasts between 1 and {settings.API_TOKEN_MAX_DAYS} days."
    if errors:
        raise ValidationError(errors)
    raw = ApiToken.generate_raw()
    now = timezone.now()
    token = ApiToken.objects.create(
        user=membership.user,
        membership=membership,
        name=name.strip()[:100],
        token_hash=ApiToken.hash_token(raw),
        hint=raw[:10],
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    audit.record(
        "create",
        token,
        summary=f"API token {token.name}, expires {token.expires_at:%Y-%m-%d}",
        clinic_id=membership.clinic_id,
    )
    return token, raw


@transaction.atomic
def revoke_api_token(membership: Membership, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens, or, for a clinic admin, any token used in their clinic."""
    tokens = ApiToken.objects.select_for_update(no_key=True)
    if membership.can(Capability.MANAGE_USERS):
        token = tokens.filter(pk=token_id, membership__clinic_id=membership.clinic_id).first()
    else:
        token = tokens.filter(pk=token_id, user=membership.user).first()
    if token is None:
        raise ValidationError(gettext("No such token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_by = membership.user
        token.save(update_fields=["revoked_at", "revoked_by"])
        whose = "" if token.user_id == membership.user_id else f" of {token.user.username}"
        audit.record("update", token, summary=f"API token {token.name}{whose} revoked", clinic_id=membership.clinic_id)
    return token


LETTERHEAD_FIELDS = ("name", "address", "phone", "email", "website")


@transaction.atomic
def set_letterhead(membership: Membership, **values: str) -> Clinic:
    """Set the clinic's letterhead (clinic admins): name, address, phone, e-mail and an optional website.

    The name is required; the address and phone are what a referring doctor uses to reply, so a letterhead
    without either is refused. Every value is checked before anything is saved; the change is audited with
    the fields that changed.
    """
    from needlepoint.accounts.access import require
    from needlepoint.accounts.roles import Capability

    require(membership, Capability.CONFIGURE_CLINIC)
    clinic = Clinic.objects.select_for_update(no_key=True).get(pk=membership.clinic_id)
    cleaned = {name: str(values.get(name, "") or "").strip() for name in LETTERHEAD_FIELDS}
    cleaned["address"] = "\n".join(line.strip() for line in cleaned["address"].splitlines() if line.strip())
    errors: dict[str, str] = {}
    if not cleaned["name"]:
        errors["name"] = "Enter the clinic's name as it should be printed."
    if not cleaned["address"] and not cleaned["phone"]:
        errors["phone"] = "Enter a phone number or an address, so that a doctor or patient can reach the clinic."
    for name in LETTERHEAD_FIELDS:
        setattr(clinic, name, cleaned[name])
    try:
        clinic.full_clean(validate_unique=False, exclude=["slug", "mrn_prefix", "next_mrn_number"])
    except ValidationError as exc:
        # Our own messages first: they say what to enter, where the model's generic ones only say "blank".
        errors.update(
            {k: " ".join(v) for k, v in exc.message_dict.items() if k in LETTERHEAD_FIELDS and k not in errors}
        )
    if errors:
        raise ValidationError(errors)
    before = Clinic.objects.filter(pk=clinic.pk).values(*LETTERHEAD_FIELDS).get()
    changed = [name for name in LETTERHEAD_FIELDS if before[name] != cleaned[name]]
    if changed:
        clinic.save(update_fields=changed)
        audit.record("update", clinic, summary=f"letterhead: {', '.join(changed)} changed", clinic_id=clinic.pk)
    return clinic


def _member_of_clinic(admin: Membership, membership_id: int) -> Membership:
    """A membership of the admin's own clinic, locked for the change (another clinic's looks missing)."""
    member = (
        Membership.objects.select_for_update(no_key=True)
        .select_related("user")
        .filter(pk=membership_id, clinic_id=admin.clinic_id)
        .first()
    )
    if member is None:
        raise ValidationError(gettext("No such member of staff."))
    return member


# Sent inside ``deactivate_member``'s transaction with the deactivated ``membership``: apps above accounts end what
# still acts for the person (the SMART apps they authorised lose their authorisations and tokens).
member_deactivated = Signal()


@transaction.atomic
def deactivate_member(admin: Membership, membership_id: int) -> Membership:
    """End a person's access to the clinic at once; their records, notes and audit history stay.

    Without another active clinic the user account is deactivated too, which ends their sessions on the
    next request (Django's backend refuses inactive users) and refuses their API tokens.
    """
    member = _member_of_clinic(admin, membership_id)
    if member.pk == admin.pk:
        raise ValidationError(gettext("You cannot deactivate yourself; ask another clinic admin."))
    if not member.is_active:
        return member
    member.is_active = False
    member.version += 1
    member.updated_at = timezone.now()
    member.save(update_fields=["is_active", "version", "updated_at"])
    user = member.user
    if not user.memberships.filter(is_active=True).exists():
        user.is_active = False
        user.save(update_fields=["is_active"])
    audit.record("update", member, summary=f"user {user.username} deactivated", clinic_id=admin.clinic_id)
    member_deactivated.send(sender=Membership, membership=member)
    return member


@transaction.atomic
def reactivate_member(admin: Membership, membership_id: int) -> Membership:
    """Give a deactivated person their role in the clinic back."""
    member = _member_of_clinic(admin, membership_id)
    if member.is_active:
        return member
    member.is_active = True
    member.version += 1
    member.updated_at = timezone.now()
    member.save(update_fields=["is_active", "version", "updated_at"])
    if not member.user.is_active:
        member.user.is_active = True
        member.user.save(update_fields=["is_active"])
    audit.record("update", member, summary=f"user {member.user.username} reactivated", clinic_id=admin.clinic_id)
    return member


def _check_new_password(user: User, new_password: str, repeated: str) -> None:
    if new_password != repeated:
        raise ValidationError({"new_password2": gettext("The two new passwords differ.")})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password1": exc.messages}) from exc


@transaction.atomic
def change_password(user: User, old_password: str, new_password: str, repeated: str) -> None:
    """Change one's own password; the old one must be right and the new one pass the policy.

    Other sessions of the user end (Django ties sessions to the password hash); the caller keeps this one.
    """
    if not user.check_password(old_password):
        raise ValidationError({"old_password": gettext("The current password is not right.")})
    _check_new_password(user, new_password, repeated)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record("update", user, summary=f"user {user.username} changed their password")


@transaction.atomic
def password_reset_path(admin: Membership, membership_id: int) -> str:
    """A one-time address (valid PASSWORD_RESET_HOURS) where a member of staff sets a new password.

    The admin hands it over; it stops working once used, since the token is tied to the password hash.
    """
    member = _member_of_clinic(admin, membership_id)
    if not member.is_active:
        raise ValidationError(gettext("Reactivate this person first."))
    user = member.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    audit.record("update", member, summary=f"password reset link made for {user.username}", clinic_id=admin.clinic_id)
    return f"/password-reset/{uid}/{default_token_generator.make_token(user)}/"


def user_for_reset(uidb64: str, token: str) -> User | None:
    """The user a reset link belongs to, if the link is still valid."""
    try:
        user = User.objects.filter(pk=int(urlsafe_base64_decode(uidb64).decode()), is_active=True).first()
    except (ValueError, UnicodeDecodeError):
        return None
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


@transaction.atomic
def reset_password(uidb64: str, token: str, new_password: str, repeated: str) -> User:
    """Set a new password through a one-time link; the link and all the user's sessions stop working."""
    user = user_for_reset(uidb64, token)
    if user is None:
        raise ValidationError(gettext("This link has expired or has been used. Ask your clinic admin for a new one."))
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if not default_token_generator.check_token(user, token):
        raise ValidationError(gettext("This link has expired or has been used. Ask your clinic admin for a new one."))
    _check_new_password(user, new_password, repeated)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    clinic_id = user.memberships.values_list("clinic_id", flat=True).first()
    with audit.event(audit.Actor(user.pk, clinic_id, "web", _current_address(), user.username)):
        audit.record("update", user, summary=f"user {user.username} set a password by reset link", clinic_id=clinic_id)
    return user


def _current_address() -> str | None:
    actor = audit.current_actor()
    return actor.client_address if actor else None


@transaction.atomic
def start_totp_enrolment(user: User) -> TotpDevice:
    """A new unconfirmed authenticator secret for the user (a confirmed app stays until the new one is confirmed)."""
    device = TotpDevice.objects.select_for_update(no_key=True).filter(user=user).first()
    if device is None:
        device = TotpDevice(user=user)
        device.secret = two_factor.new_secret()  # the property encrypts it
        device.save()
        return device
    if device.confirmed_at is None:
        return device
    raise ValidationError(gettext("An authenticator app is already set up. A clinic admin can reset it."))


@transaction.atomic
def confirm_totp_enrolment(user: User, code: str) -> list[str]:
    """Confirm the app with a code it shows; returns new recovery codes (shown once)."""
    device = TotpDevice.objects.select_for_update(no_key=True).filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        raise ValidationError(gettext("Start setting up an authenticator app first."))
    if not two_factor.verify_totp(device, code):
        raise ValidationError({"code": gettext("That code is not right. Enter the 6 digits the app shows now.")})
    device.confirmed_at = timezone.now()
    device.save(update_fields=["confirmed_at"])
    codes = two_factor.new_recovery_codes(user)
    audit.record("create", device, summary=f"user {user.username} set up an authenticator app")
    return codes


@transaction.atomic
def regenerate_recovery_codes(user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), confirmed with a current app code."""
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None or not two_factor.verify_totp(device, code):
        raise ValidationError({"code": gettext("Enter the current code from your authenticator app.")})
    codes = two_factor.new_recovery_codes(user)
    audit.record("update", device, summary=f"user {user.username} made new recovery codes")
    return codes


@transaction.atomic
def add_passkey(request: HttpRequest, user: User, credential: str, name: str) -> Passkey:
    """Register a passkey (verified against the session's challenge) as one of the user's second factors."""
    from needlepoint.accounts import passkeys

    passkey = passkeys.register(request, user, credential, name)
    audit.record("create", passkey, summary=f"user {user.username} added passkey {passkey.name}")
    return passkey


@transaction.atomic
def reset_second_factor(admin: Membership, membership_id: int) -> Membership:
    """Remove a member of staff's authenticator app and recovery codes (lost phone); they set up a new one."""
    member = _member_of_clinic(admin, membership_id)
    user = member.user
    TotpDevice.objects.filter(user=user).delete()
    Passkey.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
    audit.record("update", member, summary=f"two-factor sign-in of {user.username} reset", clinic_id=admin.clinic_id)
    return member


@transaction.atomic
def set_keep_social_security_numbers(admin: Membership, keep: bool) -> Clinic:
    """Keep, or stop keeping, the Social Security numbers other systems send (clinic admins). Numbers already kept
    stay on their charts (a clinical record is not deleted by a setting); the change is audited."""
    from needlepoint.accounts.access import require

    require(admin, Capability.CONFIGURE_CLINIC)
    clinic = Clinic.objects.select_for_update(no_key=True).get(pk=admin.clinic_id)
    clinic.keep_social_security_numbers = bool(keep)
    clinic.save(update_fields=["keep_social_security_numbers"])
    said = "kept" if clinic.keep_social_security_numbers else "not kept"
    audit.record("update", clinic, summary=f"Social Security numbers from other systems: {said}", clinic_id=clinic.pk)
    return clinic


@transaction.atomic
def set_two_factor_policy(admin: Membership, policy: str) -> Clinic:
    """Require a second factor of clinic admins (the least) or of everyone in the clinic."""
    require_admin = admin.can(Capability.MANAGE_USERS)
    if not require_admin:
        raise ValidationError(gettext("Only a clinic admin sets the two-factor policy."))
    allowed = (Clinic.TwoFactorPolicy.ADMINS, Clinic.TwoFactorPolicy.EVERYONE)
    if policy not in allowed:
        raise ValidationError({"policy": gettext("Choose two-factor for clinic admins or for everyone.")})
    clinic = Clinic.objects.select_for_update(no_key=True).get(pk=admin.clinic_id)
    clinic.two_factor_policy = policy
    clinic.save(update_fields=["two_factor_policy"])
    audit.record("update", clinic, summary=f"two-factor policy: {clinic.get_two_factor_policy_display()}")
    return clinic
