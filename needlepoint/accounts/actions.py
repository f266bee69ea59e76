"""Writes of account data: users and memberships, API tokens."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.models import ApiToken, Clinic, Membership, User
from needlepoint.accounts.roles import Role


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
    elif User.objects.filter(username__iexact=username.strip()).exists():
        errors["username"] = "That username is taken."
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
def create_api_token(membership: Membership, name: str) -> tuple[ApiToken, str]:
    """A new API token for the user in this clinic; returns the record and the raw token (shown once)."""
    if not name.strip():
        raise ValidationError({"name": "Name the token, e.g. the system that will use it."})
    raw = ApiToken.generate_raw()
    token = ApiToken.objects.create(
        user=membership.user,
        membership=membership,
        name=name.strip()[:100],
        token_hash=ApiToken.hash_token(raw),
        hint=raw[:10],
    )
    audit.record("create", token, summary=f"API token {token.name}", clinic_id=membership.clinic_id)
    return token, raw


@transaction.atomic
def revoke_api_token(membership: Membership, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=membership.user).first()
    if token is None:
        raise ValidationError("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record("update", token, summary=f"API token {token.name} revoked", clinic_id=membership.clinic_id)
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
    clinic = Clinic.objects.select_for_update().get(pk=membership.clinic_id)
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
