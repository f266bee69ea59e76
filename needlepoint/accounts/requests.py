"""The request as views see it: after ClinicContextMiddleware (or the API's authentication) it carries the clinic
membership the user acts under and the actor its audit entries name."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from needlepoint.accounts.access import require_member
from needlepoint.accounts.audit import Actor
from needlepoint.accounts.models import Membership, User


class ClinicRequest(HttpRequest):
    """An ``HttpRequest`` with ``membership`` (None when signed out or a member of no clinic) and ``audit_actor``.

    Only a type: requests stay Django's own objects, the middleware sets the two attributes on each.
    """

    membership: Membership | None
    audit_actor: Actor


def member(request: ClinicRequest) -> Membership:
    """The membership the request acts under; a signed-in user of no clinic is refused (403), never a crash."""
    return require_member(request.membership)


def signed_in(request: HttpRequest) -> User:
    """The signed-in user of a page behind the sign-in requirement (LoginRequiredMiddleware); refused otherwise."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user
