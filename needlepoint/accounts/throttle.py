"""Sign-in throttling: too many failures for one username or one address lock both out for a while."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from needlepoint.accounts.models import LoginFailure


def _window_start():  # type: ignore[no-untyped-def]
    return timezone.now() - timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)


def is_locked_out(username: str, address: str | None) -> bool:
    """Whether sign-in from this username or address is refused for now."""
    query = Q(username=username.lower())
    if address:
        query |= Q(client_address=address)
    recent = LoginFailure.objects.filter(query, at__gte=_window_start()).count()
    return recent >= settings.LOGIN_FAILURE_LIMIT


def record_failure(username: str, address: str | None) -> None:
    """Remember one failed sign-in."""
    LoginFailure.objects.create(username=username.lower()[:150], client_address=address)


def clear_failures(username: str) -> None:
    """Forget a username's failures after a successful sign-in."""
    LoginFailure.objects.filter(username=username.lower()).delete()
