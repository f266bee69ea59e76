"""Sign-in and sign-out, choosing a clinic, API tokens, and the audit trail for clinic admins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from itertools import islice

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from needlepoint.accounts import actions, audit, throttle
from needlepoint.accounts.access import require
from needlepoint.accounts.audit_words import describe_entries
from needlepoint.accounts.forms import StaffForm
from needlepoint.accounts.middleware import client_address
from needlepoint.accounts.models import AuditEntry
from needlepoint.accounts.roles import Capability
from needlepoint.inputs import csv_writer, whole_number
from needlepoint.web import add_errors


def login_view(request: HttpRequest) -> HttpResponse:
    """The sign-in page, with throttling after repeated failures."""
    error = ""
    if request.GET.get("expired"):
        error = "Your session expired. Sign in again; anything you were entering was not saved."
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        address = client_address(request)
        if throttle.is_locked_out(username, address):
            error = (
                f"Too many failed sign-ins. Wait {settings.LOGIN_FAILURE_WINDOW_MINUTES} minutes and try again, "
                "or ask your clinic admin."
            )
            audit.record("login_failed", summary=f"locked out: {username}"[:300])
        else:
            user = authenticate(request, username=username, password=password)
            if user is not None and user.active_memberships().exists():
                throttle.clear_failures(username)
                login(request, user)
                with audit.acting_as(audit.Actor(user.pk, None, "web", address, username)):
                    audit.record("login", summary=f"signed in as {username}")
                target = request.POST.get("next") or "/"
                if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                    target = "/"
                return redirect(target)
            throttle.record_failure(username, address)
            audit.record("login_failed", summary=f"failed sign-in: {username}"[:300])
            error = "That username and password do not match an active account."
    return render(
        request,
        "accounts/login.html",
        {"error": error, "username": username, "next": request.GET.get("next", "")},
        status=200 if not error or request.method == "GET" else 401,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, so a link cannot sign anyone out)."""
    audit.record("logout", summary="signed out")
    logout(request)
    return redirect("/login/")


@require_POST
def switch_clinic(request: HttpRequest) -> HttpResponse:
    """Act under another of the user's clinic memberships."""
    wanted = request.POST.get("membership_id", "")
    for membership in request.user.active_memberships():
        if str(membership.pk) == wanted:
            request.session["membership_id"] = membership.pk
            messages.success(request, f"You are now working in {membership.clinic}.")
    return redirect("/")


def tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens: create (shown once) and revoke."""
    membership = request.membership  # type: ignore[attr-defined]
    require(membership, Capability.VIEW_DEMOGRAPHICS)
    new_token = ""
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                token_id = whole_number(request.POST["revoke"], smallest=1)
                if token_id is None:
                    raise ValidationError("Choose a token to revoke.")
                actions.revoke_api_token(membership, token_id)
                messages.success(request, "Token revoked.")
                return redirect("/account/tokens/")
            _, new_token = actions.create_api_token(membership, request.POST.get("name", ""))
        except (ValidationError, ValueError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    user_tokens = membership.user.api_tokens.order_by("-created_at")
    return render(request, "accounts/tokens.html", {"tokens": user_tokens, "new_token": new_token})


def _filtered_audit(request: HttpRequest):  # type: ignore[no-untyped-def]
    membership = require(request.membership, Capability.VIEW_AUDIT)  # type: ignore[attr-defined]
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


def _date_param(value: str | None):  # type: ignore[no-untyped-def]
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None


def audit_list(request: HttpRequest) -> HttpResponse:
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
            "rows": describe_entries(list(page), request.membership),  # type: ignore[attr-defined]
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


def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered audit trail as CSV, streamed so a long trail never sits in memory.

    Each row keeps the stored codes and adds them in words (described a chunk at a time, one query per kind).
    """
    entries = _filtered_audit(request)
    viewer = request.membership  # type: ignore[attr-defined]
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

    def rows():  # type: ignore[no-untyped-def]
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


def staff(request: HttpRequest) -> HttpResponse:
    """The clinic's staff and their roles; clinic admins add people here."""
    membership = require(request.membership, Capability.MANAGE_USERS)  # type: ignore[attr-defined]
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
                request, f"{added.user.get_full_name() or added.user.username} added as {added.get_role_display()}."
            )
            return redirect("/staff/")
    people = membership.clinic.memberships.select_related("user").order_by("role", "user__last_name")
    return render(request, "accounts/staff.html", {"people": people, "form": form})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form whose security token is missing or stale: nothing saved, and say so plainly."""
    return render(request, "accounts/csrf_failure.html", status=403)
