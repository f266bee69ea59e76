"""The patient page's "Open in app" buttons: the clinic's SMART apps with a launch address (an EHR launch)."""

from __future__ import annotations

from typing import Any

from django import template

from needlepoint.fhir.models import SmartApp

register = template.Library()


@register.inclusion_tag("fhir/_launch_apps.html", takes_context=True)
def launch_apps(context: dict[str, Any], patient: Any) -> dict[str, Any]:
    """The launchable apps of the user's clinic, for a form that starts an EHR launch of ``patient``."""
    membership = getattr(context.get("request"), "membership", None)
    apps = (
        SmartApp.objects.filter(clinic_id=membership.clinic_id, disabled_at__isnull=True)
        .exclude(launch_uri="")
        .exclude(kind=SmartApp.Kind.BACKEND)
        .select_related("application")
        .order_by("application__name")
        if membership is not None
        else SmartApp.objects.none()
    )
    return {"apps": list(apps), "patient": patient, "csrf_token": context.get("csrf_token")}
