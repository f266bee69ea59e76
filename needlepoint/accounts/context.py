"""Template context: the membership the user acts under and what the role may see."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability


def clinic_context(request: HttpRequest) -> dict[str, object]:
    """Adds ``membership``, ``can`` (capability name -> bool) for menus and pages, and the idle limit the
    page's session script warns about."""
    membership = getattr(request, "membership", None)
    return {
        "membership": membership,
        "can": capabilities(membership),
        "session_idle_seconds": settings.SESSION_IDLE_MINUTES * 60,
    }


def capabilities(membership: Membership | None) -> dict[str, bool]:
    """Capability name -> whether the membership's role holds it (``can`` in templates)."""
    return {c.value: bool(membership and membership.can(c)) for c in Capability}
