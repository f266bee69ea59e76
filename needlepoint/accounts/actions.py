"""Writes of account data: users and memberships, API tokens."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.models import ApiToken, Clinic, Membership, User
from needlepoint.accounts.roles import Role
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
