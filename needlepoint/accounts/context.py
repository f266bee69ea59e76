"""Template context: the membership the user acts under and what the role may see."""

from __future__ import annotations

from django.http import HttpRequest

from needlepoint.accounts.roles import Capability


def clinic_context(request: HttpRequest) -> dict[str, object]:
    """Adds ``membership`` and ``can`` (capability name -> bool) for menus and pages."""
    membership = getattr(request, "membership", None)
    can = {c.value: bool(membership and membership.can(c)) for c in Capability}
    return {"membership": membership, "can": can}
