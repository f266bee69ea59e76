"""Sign-in and sign-out, choosing a clinic, API tokens, and the audit trail for clinic admins."""

from __future__ import annotations

import json
import time as time_module
from collections.abc import Iterator
from datetime import date, datetime, time
from itertools import islice
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from needlepoint.accounts import actions, audit, passkeys, throttle, two_factor
from needlepoint.accounts.access import require
from needlepoint.accounts.audit_words import describe_entries
from needlepoint.accounts.forms import LetterheadForm, StaffForm
from needlepoint.accounts.middleware import client_address
from needlepoint.accounts.models import ApiToken, AuditEntry, Clinic, Membership, User
from needlepoint.accounts.requests import ClinicRequest, member, signed_in
from needlepoint.accounts.roles import Capability
from needlepoint.inputs import csv_writer, whole_number
from needlepoint.web import add_errors

PENDING_KEY = "signin_pending"
# Between the right password and the second factor: long enough to open the app, short enough not to linger.
PENDING_SECONDS = 300


def _wait_words(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{seconds} seconds" if seconds < 120 else f"{minutes} minutes"


def _safe_target(request: ClinicRequest, target: str) -> str:
    if not target or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return "/"
    return target


def _complete_sign_in(request: ClinicRequest, user: User, target: str, how: str = "") -> HttpResponse:
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.audit_actor = audit.Actor(user.pk, None, "web", client_address(request), user.username)
    audit.record("login", summary=f"signed in as {user.username}" + (f" with {how}" if how else ""))
    return redirect(_safe_target(request, target))


def _audit_failure(summary: str) -> None:
    audit.record("login_failed", summary=summary[:300])


def login_view(request: ClinicRequest) -> HttpResponse:
    """The sign-in page: password, then a second factor where the user has one or their clinic requires one.

    Throttling (``throttle``) reserves a password check per address and per username before the password is
    compared; a username past its limit waits a growing delay, or passes at once with an authenticator code.
    """
    error = ""
    ask_code = False
    if request.GET.get("expired"):
        error = "Your session expired. Sign in again; anything you were entering was not saved."
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()[:150]
        password = request.POST.get("password", "")
        code = request.POST.get("code", "").strip()
        address = client_address(request)
        by_address = throttle.reserve(
            throttle.address_key(address), settings.LOGIN_ADDRESS_FAILURE_LIMIT, progressive=False
        )
        if not by_address.allowed:
            error = (
                f"Too many failed sign-ins from this network. Try again in {_wait_words(by_address.wait_seconds)}, "
                "or ask your clinic admin."
            )
            _audit_failure(f"address refused: {username}")
        else:
            outcome = _check_password(request, username, password, code, address)
            if isinstance(outcome, HttpResponse):
                return outcome
            error, ask_code = outcome
    return render(
        request,
        "accounts/login.html",
        {"error": error, "username": username, "next": request.GET.get("next", ""), "ask_code": ask_code},
        status=200 if not error or request.method == "GET" else 401,
    )


def _check_password(
    request: ClinicRequest, username: str, password: str, code: str, address: str | None
) -> HttpResponse | tuple[str, bool]:
    """Spend a username check (or pass on a right code), compare the password, and go on to the second factor."""
    address_key = throttle.address_key(address)
    by_username = throttle.reserve(throttle.username_key(username), settings.LOGIN_FAILURE_LIMIT, progressive=True)
    second_factor = ""
    if not by_username.allowed:
        second_factor = _verified_code(username, code)
        if not second_factor:
            throttle.refund(address_key)  # no password was compared
            _audit_failure(f"delayed: {username}")
            return (
                f"Too many failed sign-ins for this username. Try again in {_wait_words(by_username.wait_seconds)}, "
                "or sign in now with your password and the code from your authenticator app.",
                True,
            )
    user = authenticate(request, username=username, password=password)
    if user is None or not user.active_memberships().exists():
        _audit_failure(f"failed sign-in: {username}")
        return "That username and password do not match an active account.", bool(second_factor)
    throttle.reset(throttle.username_key(username))
    throttle.refund(address_key)
    target = request.POST.get("next") or "/"
    if not second_factor and code and user.has_authenticator_app():
        # A code given with the password (the page's in-place sign-in dialog does so) saves the second step.
        second_factor = _verified_code(username, code)
        if not second_factor:
            _audit_failure(f"wrong second-factor code: {username}")
            return "That code is not right. Enter the 6 digits your app shows now, or a recovery code.", True
    if second_factor:
        return _complete_sign_in(request, user, target, second_factor)
    if user.has_second_factor() or user.needs_second_factor():
        request.session[PENDING_KEY] = {"user_id": user.pk, "since": time_module.time(), "next": target}
        return redirect("/login/code/" if user.has_second_factor() else "/login/enrol/")
    return _complete_sign_in(request, user, target)


def _verified_code(username: str, code: str) -> str:
    """The second factor a code given with the password proves ("app", "recovery code"), or "".

    Code checks have their own counter, so codes cannot be guessed faster than passwords.
    """
    if not code:
        return ""
    if not throttle.reserve(throttle.code_key(username), settings.LOGIN_FAILURE_LIMIT, progressive=True).allowed:
        return ""
    user = User.objects.filter(username__iexact=username, is_active=True).first()
    how = two_factor.verify_second_factor(user, code) if user else ""
    if how:
        throttle.reset(throttle.code_key(username))
    return how


def _json_body(request: ClinicRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@require_POST
def login_passkey_options(request: ClinicRequest) -> HttpResponse:
    """The second sign-in step by passkey: the options for the browser (after the right password only)."""
    user, _ = _pending_user(request)
    if user is None or not user.passkeys.exists():
        return JsonResponse({"error": "Sign in with your password first."}, status=401)
    return HttpResponse(passkeys.authentication_options(request, user), content_type="application/json")


@require_POST
def login_passkey(request: ClinicRequest) -> HttpResponse:
    """The second sign-in step by passkey: verify the browser's answer and sign in."""
    user, target = _pending_user(request)
    if user is None:
        return JsonResponse({"error": "Sign in with your password first."}, status=401)
    key = throttle.code_key(user.username)
    decision = throttle.reserve(key, settings.LOGIN_FAILURE_LIMIT, progressive=True)
    if not decision.allowed:
        return JsonResponse(
            {"error": f"Too many attempts. Try again in {_wait_words(decision.wait_seconds)}."}, status=429
        )
    try:
        passkeys.authenticate(request, user, json.dumps(_json_body(request).get("credential") or {}))
    except passkeys.PasskeyError as exc:
        _audit_failure(f"passkey refused: {user.username}")
        return JsonResponse({"error": str(exc)}, status=401)
    throttle.reset(key)
    response = _complete_sign_in(request, user, target, "passkey")
    return JsonResponse({"next": response["Location"]})


@require_POST
def passkey_options(request: ClinicRequest) -> HttpResponse:
    """The options for the browser to create a passkey for the signed-in user."""
    return HttpResponse(passkeys.registration_options(request, signed_in(request)), content_type="application/json")


@require_POST
def passkey_register(request: ClinicRequest) -> HttpResponse:
    """Store the signed-in user's new passkey, verified against the challenge just given."""
    body = _json_body(request)
    try:
        passkey = actions.add_passkey(
            request, signed_in(request), json.dumps(body.get("credential") or {}), str(body.get("name", ""))
        )
    except passkeys.PasskeyError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    messages.success(request, gettext("Passkey %(name)s added.") % {"name": passkey.name})
    return JsonResponse({"next": "/account/security/"})


def _pending_user(request: ClinicRequest) -> tuple[User | None, str]:
    """The user who gave the right password and still owes a second factor, and where they were going."""
    pending = request.session.get(PENDING_KEY) or {}
    if not pending or time_module.time() - pending.get("since", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None, ""
    user_id = pending.get("user_id")
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id is not None else None
    return user, pending.get("next", "/")


def login_code(request: ClinicRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    user, target = _pending_user(request)
    if user is None:
        return redirect("/login/")
    error = ""
    if request.method == "POST":
        key = throttle.code_key(user.username)
        decision = throttle.reserve(key, settings.LOGIN_FAILURE_LIMIT, progressive=True)
        if not decision.allowed:
            error = f"Too many wrong codes. Try again in {_wait_words(decision.wait_seconds)}."
            _audit_failure(f"code delayed: {user.username}")
        else:
            how = two_factor.verify_second_factor(user, request.POST.get("code", ""))
            if how:
                throttle.reset(key)
                return _complete_sign_in(request, user, target, how)
            error = "That code is not right. Enter the 6 digits your app shows now, or a recovery code."
            _audit_failure(f"wrong second-factor code: {user.username}")
    return render(
        request,
        "accounts/login_code.html",
        {"error": error, "has_app": user.has_authenticator_app(), "has_passkey": user.passkeys.exists()},
        status=401 if error else 200,
    )


def login_enrol(request: ClinicRequest) -> HttpResponse:
    """Setting up an authenticator app during sign-in, for a user whose clinic requires one and who has none."""
    user, target = _pending_user(request)
    if user is None or user.has_second_factor():
        return redirect("/login/")
    device = actions.start_totp_enrolment(user)
    error = ""
    if request.method == "POST":
        decision = throttle.reserve(throttle.code_key(user.username), settings.LOGIN_FAILURE_LIMIT, progressive=True)
        if not decision.allowed:
            error = f"Too many wrong codes. Try again in {_wait_words(decision.wait_seconds)}."
        else:
            try:
                request.audit_actor = audit.Actor(user.pk, None, "web", client_address(request), user.username)
                codes = actions.confirm_totp_enrolment(user, request.POST.get("code", ""))
            except ValidationError as exc:
                error = "; ".join(exc.messages)
            else:
                throttle.reset(throttle.code_key(user.username))
                _complete_sign_in(request, user, target, "a newly set up authenticator app")
                return render(
                    request, "accounts/recovery_codes.html", {"codes": codes, "next": _safe_target(request, target)}
                )
    return render(
        request,
        "accounts/login_enrol.html",
        {"error": error, "qr": two_factor.qr_svg(device), "secret": device.secret, "action": "/login/enrol/"},
        status=401 if error else 200,
    )


@require_POST
def logout_view(request: ClinicRequest) -> HttpResponse:
    """Sign out (POST only, so a link cannot sign anyone out)."""
    audit.record("logout", summary="signed out")
    logout(request)
    return redirect("/login/")


@require_POST
def switch_clinic(request: ClinicRequest) -> HttpResponse:
    """Act under another of the user's clinic memberships."""
    wanted = request.POST.get("membership_id", "")
    for membership in signed_in(request).active_memberships():
        if str(membership.pk) == wanted:
            request.session["membership_id"] = membership.pk
            messages.success(request, gettext("You are now working in %(clinic)s.") % {"clinic": membership.clinic})
    return redirect("/")


def tokens(request: ClinicRequest) -> HttpResponse:
    """The user's API tokens: create (shown once, with an expiry) and revoke."""
    membership = member(request)
    require(membership, Capability.VIEW_DEMOGRAPHICS)
    new_token = ""
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                token_id = whole_number(request.POST["revoke"], smallest=1)
                if token_id is None:
                    raise ValidationError(gettext("Choose a token to revoke."))
                actions.revoke_api_token(membership, token_id)
                messages.success(request, gettext("Token revoked."))
                return redirect("/account/tokens/")
            days = int(request.POST.get("days") or settings.API_TOKEN_DEFAULT_DAYS)
            _, new_token = actions.create_api_token(membership, request.POST.get("name", ""), days)
        except (ValidationError, ValueError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", ["Enter the number of days as digits."])))
    user_tokens = membership.user.api_tokens.order_by("-created_at")
    return render(
        request,
        "accounts/tokens.html",
        {
            "tokens": user_tokens,
            "new_token": new_token,
            "now": timezone.now(),
            "default_days": settings.API_TOKEN_DEFAULT_DAYS,
            "max_days": settings.API_TOKEN_MAX_DAYS,
        },
    )


def security(request: ClinicRequest) -> HttpResponse:
    """The signed-in user's password and two-factor sign-in: change the password, set up an app, new codes."""
    user = signed_in(request)
    context: dict[str, Any] = {
        "has_app": user.has_authenticator_app(),
        "required": user.needs_second_factor(),
        "passkeys": user.passkeys.order_by("created_at"),
    }
    status = 200
    if request.method == "POST":
        step = request.POST.get("step", "")
        try:
            if step == "password":
                actions.change_password(
                    user,
                    request.POST.get("old_password", ""),
                    request.POST.get("new_password1", ""),
                    request.POST.get("new_password2", ""),
                )
                update_session_auth_hash(request, user)  # this session stays; the user's others end
                messages.success(request, gettext("Password changed. Your other sessions have been signed out."))
                return redirect("/account/security/")
            if step == "confirm_app":
                context["codes"] = actions.confirm_totp_enrolment(user, request.POST.get("code", ""))
                context["has_app"] = True
                messages.success(
                    request, gettext("Authenticator app set up. Keep these recovery codes somewhere safe.")
                )
            elif step == "new_codes":
                context["codes"] = actions.regenerate_recovery_codes(user, request.POST.get("code", ""))
                messages.success(request, gettext("New recovery codes made; the old ones no longer work."))
        except ValidationError as exc:
            context["error"] = "; ".join(exc.messages)
            context["error_step"] = step
            status = 400
    if not context["has_app"]:
        device = actions.start_totp_enrolment(user)
        context.update(qr=two_factor.qr_svg(device), secret=device.secret)
    else:
        context["codes_left"] = two_factor.unused_recovery_codes(user)
    return render(request, "accounts/security.html", context, status=status)


def password_reset(request: ClinicRequest, uidb64: str, token: str) -> HttpResponse:
    """A one-time link from a clinic admin: set a new password (the link then stops working)."""
    user = actions.user_for_reset(uidb64, token)
    if user is None:
        return render(request, "accounts/password_reset.html", {"invalid": True}, status=404)
    error = ""
    if request.method == "POST":
        try:
            actions.reset_password(
                uidb64, token, request.POST.get("new_password1", ""), request.POST.get("new_password2", "")
            )
        except ValidationError as exc:
            error = "; ".join(exc.messages)
        else:
            messages.success(request, gettext("Password set. Sign in with it now."))
            return redirect("/login/")
    return render(
        request, "accounts/password_reset.html", {"reset_user": user, "error": error}, status=400 if error else 200
    )


def _filtered_audit(request: ClinicRequest) -> QuerySet[AuditEntry]:
    membership = require(request.membership, Capability.VIEW_AUDIT)
    entries = AuditEntry.objects.filter(clinic_id=membership.clinic_id).select_related("user")
    params = request.GET
    if params.get("action"):
        entries = entries.filter(action=params["action"])
    if params.get("user"):
        entries = entries.filter(user__username__iexact=params["user"].strip())
    if params.get("patient"):
        entries = entries.filter(patient_id=_int_or_none(params["patient"]))
    start, end = _date_param(params.get("from")), _date_param(params.get("to"))
    if start:
        entries = entries.filter(at__gte=timezone.make_aware(datetime.combine(start, time.min)))
    if end:
        entries = entries.filter(at__lte=timezone.make_aware(datetime.combine(end, time.max)))
    return entries.order_by("-at", "-pk")


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return -1


def _date_param(value: str | None) -> date | None:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None


def audit_list(request: ClinicRequest) -> HttpResponse:
    """The clinic's audit trail, filterable, paginated (clinic admins only)."""
    entries = _filtered_audit(request)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit.html",
        {
            "page": page,
            "rows": describe_entries(list(page), member(request)),
            "actions": AuditEntry.Action.choices,
            "query": query.urlencode(),
            "params": request.GET,
        },
    )


CSV_CHUNK = 2000


def _chunks(items: Iterator[AuditEntry], size: int) -> Iterator[list[AuditEntry]]:
    """Consecutive lists of at most ``size`` items."""
    while chunk := list(islice(items, size)):
        yield chunk


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_csv(request: ClinicRequest) -> StreamingHttpResponse:
    """The filtered audit trail as CSV, streamed so a long trail never sits in memory.

    Each row keeps the stored codes and adds them in words (described a chunk at a time, one query per kind).
    """
    entries = _filtered_audit(request)
    viewer = member(request)
    audit.record("export", summary="audit trail CSV")
    writer = csv_writer(_Echo())
    header = [
        "time",
        "user",
        "actor",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "summary",
        "via",
        "client_address",
        "action_in_words",
        "record_in_words",
        "patient_in_words",
    ]

    def rows() -> Iterator[object]:
        yield writer.writerow(header)
        for chunk in _chunks(entries.iterator(chunk_size=CSV_CHUNK), CSV_CHUNK):
            for row in describe_entries(chunk, viewer):
                e = row.entry
                yield writer.writerow(
                    [
                        e.at.isoformat(),
                        e.user.username if e.user else "",
                        e.actor_label,
                        e.action,
                        e.object_type,
                        e.object_id,
                        e.patient_id or "",
                        e.summary,
                        e.via,
                        e.client_address or "",
                        row.action,
                        row.record.words if row.record else "",
                        row.patient.words if row.patient else "",
                    ]
                )

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response


STAFF_ACTIONS = {
    "deactivate": (actions.deactivate_member, "{name} deactivated: signed out everywhere, history kept."),
    "reactivate": (actions.reactivate_member, "{name} reactivated."),
    "reset_two_factor": (actions.reset_second_factor, "Two-factor sign-in of {name} reset; they set it up again."),
}


def _staff_action(request: ClinicRequest, membership: Membership) -> HttpResponse | None:
    """Deactivate, reactivate, reset two-factor, make a reset link, revoke a token, set the two-factor policy or
    whether Social Security numbers from other systems are kept."""
    post = request.POST
    try:
        if "policy" in post:
            actions.set_two_factor_policy(membership, post["policy"])
            messages.success(request, gettext("Two-factor policy saved."))
        elif "ssn_setting" in post:
            clinic = actions.set_keep_social_security_numbers(membership, "keep_social_security_numbers" in post)
            if clinic.keep_social_security_numbers:
                messages.success(request, gettext("Social Security numbers from other systems: kept."))
            else:
                messages.success(request, gettext("Social Security numbers from other systems: not kept."))
        elif "revoke_token" in post:
            token = actions.revoke_api_token(membership, int(post["revoke_token"]))
            messages.success(
                request,
                gettext("Token %(token)s of %(user)s revoked.") % {"token": token.name, "user": token.user.username},
            )
        elif post.get("do") == "reset_link":
            path = actions.password_reset_path(membership, int(post.get("member", "")))
            link = request.build_absolute_uri(path)
            messages.success(
                request,
                gettext("One-time password link (hand it over in person; it works once): %(link)s") % {"link": link},
            )
        elif post.get("do") in STAFF_ACTIONS:
            action, message = STAFF_ACTIONS[post["do"]]
            member = action(membership, int(post.get("member", "")))
            messages.success(request, message.format(name=member.user.get_full_name() or member.user.username))
        else:
            return None
    except (ValidationError, ValueError) as exc:
        messages.error(request, "; ".join(getattr(exc, "messages", ["Choose a member of staff."])))
    return redirect("/staff/")


def staff(request: ClinicRequest) -> HttpResponse:
    """The clinic's staff and their roles; clinic admins add, deactivate and reactivate people here."""
    membership = require(request.membership, Capability.MANAGE_USERS)
    if request.method == "POST":
        done = _staff_action(request, membership)
        if done is not None:
            return done
    form = StaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            added = actions.create_user(
                membership.clinic,
                data["username"],
                data["password"],
                data["role"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                profession=data["profession"],
                licence_number=data["licence_number"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request,
                gettext("%(person)s added as %(role)s.")
                % {"person": added.user.get_full_name() or added.user.username, "role": added.get_role_display()},
            )
            return redirect("/staff/")
    people = (
        membership.clinic.memberships.select_related("user", "user__totp_device")
        .annotate(passkey_count=Count("user__passkeys"))
        .order_by("-is_active", "role", "user__last_name")
    )
    clinic_tokens = (
        ApiToken.objects.filter(
            membership__clinic=membership.clinic, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("user")
        .order_by("expires_at")
    )
    return render(
        request,
        "accounts/staff.html",
        {
            "people": people,
            "form": form,
            "clinic_tokens": clinic_tokens,
            "policies": [c for c in Clinic.TwoFactorPolicy.choices if c[0] != Clinic.TwoFactorPolicy.DEMO_NOT_REQUIRED],
        },
    )


def csrf_failure(request: ClinicRequest, reason: str = "") -> HttpResponse:
    """A form whose security token is missing or stale: nothing saved, and say so plainly."""
    return render(request, "accounts/csrf_failure.html", status=403)


def letterhead(request: ClinicRequest) -> HttpResponse:
    """The clinic's letterhead (clinic admins): what every printed note, letter and report carries."""
    membership = require(request.membership, Capability.CONFIGURE_CLINIC)
    clinic = membership.clinic
    initial = {name: getattr(clinic, name) for name in actions.LETTERHEAD_FIELDS}
    form = LetterheadForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.set_letterhead(membership, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, gettext("Letterhead saved."))
            return redirect("letterhead")
    return render(request, "accounts/letterhead.html", {"form": form, "clinic": clinic})
