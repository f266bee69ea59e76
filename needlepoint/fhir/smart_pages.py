"""The two pages of SMART apps: a clinic admin registers the clinic's apps (/clinic/apps/), and every user sees
the apps they authorised and withdraws them (/account/apps/)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model

from needlepoint.accounts import audit
from needlepoint.accounts.access import require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.fhir import smart_backend, smart_scopes
from needlepoint.fhir.models import AppAuthorisation, SmartApp
from needlepoint.fhir.smart_server import revoke_authorisation
from needlepoint.inputs import whole_number

Application = get_application_model()


def register_app(
    membership: Membership,
    name: str,
    kind: str,
    scopes: str,
    redirect_uris: str = "",
    launch_uri: str = "",
    public_keys: str = "",
) -> tuple[SmartApp, str]:
    """Register an app of the admin's clinic; returns it and, for a confidential client, its secret (shown once).
    Bad input raises ValidationError naming the field, and nothing is saved."""
    require(membership, Capability.CONFIGURE_CLINIC)
    name = name.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Give the app a name your staff will recognise."
    if kind not in SmartApp.Kind.values:
        errors["kind"] = "Choose the kind of app."
    try:
        parsed = smart_scopes.parse(scopes)
        backend = kind == SmartApp.Kind.BACKEND
        if not parsed.resource:
            errors["scopes"] = "List at least one resource scope, e.g. patient/*.rs."
        elif any((s.context == "system") != backend for s in parsed.resource):
            errors["scopes"] = "system/ scopes are for backend services, and only they may use them."
    except smart_scopes.ScopeError as exc:
        errors["scopes"] = str(exc)
    uris = " ".join(redirect_uris.split())
    if kind != SmartApp.Kind.BACKEND and not uris:
        errors["redirect_uris"] = "An app used by staff needs at least one redirect URI."
    jwks: dict[str, Any] = {}
    if kind == SmartApp.Kind.BACKEND:
        try:
            jwks = smart_backend.key_set(public_keys)
        except ValueError as exc:
            errors["public_keys"] = str(exc)
    if errors:
        raise ValidationError(errors)
    secret = generate_client_secret() if kind == SmartApp.Kind.CONFIDENTIAL else ""
    grant = (
        Application.GRANT_CLIENT_CREDENTIALS if kind == SmartApp.Kind.BACKEND else Application.GRANT_AUTHORIZATION_CODE
    )
    with transaction.atomic():
        application = Application(
            name=name,
            user=membership.user,
            client_type=Application.CLIENT_CONFIDENTIAL if kind != SmartApp.Kind.PUBLIC else Application.CLIENT_PUBLIC,
            authorization_grant_type=grant,
            redirect_uris=uris,
            client_secret=secret,
            algorithm="",
        )
        application.full_clean(exclude=["client_secret"])
        application.save()
        app = audit.wrote(
            SmartApp.objects.create(
                application=application,
                clinic=membership.clinic,
                registered_by=membership,
                kind=kind,
                allowed_scopes=parsed.text(),
                launch_uri=launch_uri.strip(),
                jwks=jwks,
            ),
            created=True,
        )
        app.full_clean()
    return app, secret


def disable_app(membership: Membership, app_id: int) -> SmartApp:
    """Disable an app of the admin's clinic: its tokens stop working at once; the record stays."""
    require(membership, Capability.CONFIGURE_CLINIC)
    with transaction.atomic():
        app = SmartApp.objects.select_for_update().filter(pk=app_id, clinic_id=membership.clinic_id).first()
        if app is None or app.disabled_at is not None:
            raise ValidationError(gettext("No such app in your clinic."))
        app.disabled_at = timezone.now()
        app.save(update_fields=["disabled_at"])
        audit.wrote(app, created=False)
    return app


def clinic_apps(request: HttpRequest) -> HttpResponse:
    """/clinic/apps/: the clinic's SMART apps; register one, disable one (clinic admins)."""
    membership = require(getattr(request, "membership", None), Capability.CONFIGURE_CLINIC)
    secret, registered = "", None
    if request.method == "POST":
        try:
            if "disable" in request.POST:
                app = disable_app(membership, whole_number(request.POST["disable"], smallest=1) or 0)
                messages.success(request, gettext("%(app)s disabled; its tokens no longer work.") % {"app": app})
                return redirect("/clinic/apps/")
            registered, secret = register_app(
                membership,
                request.POST.get("name", ""),
                request.POST.get("kind", ""),
                request.POST.get("scopes", ""),
                request.POST.get("redirect_uris", ""),
                request.POST.get("launch_uri", ""),
                request.POST.get("public_keys", ""),
            )
        except ValidationError as exc:
            problems = exc.message_dict.items() if hasattr(exc, "error_dict") else [("", exc.messages)]
            for field, texts in problems:
                messages.error(request, f"{field.replace('_', ' ')}: {' '.join(texts)}" if field else " ".join(texts))
    apps = SmartApp.objects.filter(clinic_id=membership.clinic_id).select_related("application", "registered_by__user")
    return render(
        request,
        "fhir/smart_apps.html",
        {
            "apps": apps.order_by("-created_at"),
            "kinds": SmartApp.Kind.choices,
            "registered": registered,
            "secret": secret,
            "posted": request.POST if request.method == "POST" and registered is None else {},
        },
    )


def my_apps(request: HttpRequest) -> HttpResponse:
    """/account/apps/: the apps this user authorised, with the patient each was launched for; withdraw one."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return render(request, "fhir/smart_my_apps.html", {"authorisations": []})
    if request.method == "POST":
        try:
            chosen = whole_number(request.POST.get("revoke", ""), smallest=1)
            if chosen is None:
                raise ValidationError(gettext("Choose an app to withdraw."))
            revoked = revoke_authorisation(membership, chosen)
            messages.success(request, gettext("%(app)s no longer has access.") % {"app": revoked.app})
            return redirect("/account/apps/")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    authorisations = (
        AppAuthorisation.objects.filter(membership=membership, revoked_at__isnull=True)
        .select_related("app__application", "patient")
        .order_by("-created_at")
    )
    found = list(authorisations)
    with_patients = [a.patient for a in found if a.patient is not None]
    if with_patients:
        from needlepoint.accounts.access import listed

        listed(with_patients, "patients of the apps you authorised")
    return render(request, "fhir/smart_my_apps.html", {"authorisations": found})
