"""The request as views see it: after ClinicContextMiddleware (or the API's authentication) it carries the clinic
membership the user acts under and the actor its audit entries name."""

from __future__ import annotations

from django.http import HttpRequest

from needlepoint.accounts.access import require_member
from needlepoint.accounts.audit import Actor
from needlepoint.accounts.models import Membership


class ClinicRequest(HttpRequest):
    """An ``HttpRequest`` with ``membership`` (None when signed out or a member of no clinic) and ``audit_actor``.

    Only a type: requests stay Django's own objects, the middleware sets the two attributes on each.
    """

    membership: Membership | None
    audit_actor: Actor


def member(request: ClinicRequest) -> Membership:
    """The membership the request acts under; a signed-in user of no clinic is refused (403), never a crash."""
    return require_member(request.membership)
