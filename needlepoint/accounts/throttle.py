"""Sign-in throttling that spends a bounded number of password checks and cannot lock anyone out for long.

Each username and each client address has a counter of password checks in the current window. A check is
*reserved* before the password is compared, by a conditional UPDATE (``WHERE checks < limit``) that the
database applies atomically, so forty parallel guesses get at most ``limit`` checks; a successful sign-in
refunds its check.

Past the limit an address is refused until its window ends: only the guesser's own address is affected,
because the client's address is read from ``X-Forwarded-For`` only when the request came through one of
``TRUSTED_PROXIES``. A username past the limit is never locked: further checks come after a delay that
doubles each time (at most ``LOGIN_MAX_DELAY_SECONDS``), and a user with an authenticator app passes at once
with the right password and a current code (the code is checked first, under its own counter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from needlepoint.accounts.models import SignInCounter


@dataclass(frozen=True)
class Decision:
    """Whether a check may go ahead now, and if not, how many seconds until one may."""

    allowed: bool
    wait_seconds: int = 0


def username_key(username: str) -> str:
    """The counter of password checks for a username (case-insensitive, as sign-in is)."""
    return "user:" + username.strip().lower()[:150]


def code_key(username: str) -> str:
    """The counter of second-factor code checks for a username."""
    return "code:" + username.strip().lower()[:150]


def address_key(address: str | None) -> str:
    """The counter of password checks from one client address."""
    return f"address:{address or 'unknown'}"


def _window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)


def progressive_delay(over_limit: int) -> timedelta:
    """The wait before the ``over_limit``-th check past the limit: 30 s, doubling, capped."""
    seconds = min(settings.LOGIN_FIRST_DELAY_SECONDS * 2 ** max(0, over_limit - 1), settings.LOGIN_MAX_DELAY_SECONDS)
    return timedelta(seconds=seconds)


def _ensure_counter(key: str, now: datetime) -> None:
    if SignInCounter.objects.filter(key=key).exists():
        return
    try:
        with transaction.atomic():
            SignInCounter.objects.create(key=key, window_started_at=now, next_check_at=now)
    except IntegrityError:
        pass  # a parallel request created it first; the conditional updates below still apply


def reserve(key: str, limit: int, *, progressive: bool) -> Decision:
    """Spend one check of ``key``'s allowance if one is left (atomically); otherwise say how long to wait.

    With ``progressive`` the allowance never runs out for good: past the limit one more check is allowed each
    time the doubling delay has passed. Without it the key waits for its window to end.
    """
    now = timezone.now()
    _ensure_counter(key, now)
    rows = SignInCounter.objects.filter(key=key)
    if rows.filter(window_started_at__lt=now - _window()).update(checks=1, window_started_at=now, next_check_at=now):
        return Decision(True)
    # The check that reaches the limit also sets when the first check past it may come.
    reaching = When(checks=limit - 1, then=Value(now + progressive_delay(1)))
    if rows.filter(checks__lt=limit).update(
        checks=F("checks") + 1, next_check_at=Case(reaching, default=F("next_check_at"))
    ):
        return Decision(True)
    row = rows.get()
    if progressive:
        spent = row.checks
        next_at = now + progressive_delay(spent + 2 - limit)
        if row.next_check_at <= now and rows.filter(checks=spent, next_check_at__lte=now).update(
            checks=spent + 1, next_check_at=next_at
        ):
            return Decision(True)
        return Decision(False, _seconds_until(row.next_check_at, now))
    return Decision(False, _seconds_until(row.window_started_at + _window(), now))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def refund(key: str) -> None:
    """Give back one reserved check (a successful sign-in, or a check that was not made after all)."""
    SignInCounter.objects.filter(key=key, checks__gt=0).update(checks=F("checks") - 1)


def reset(key: str) -> None:
    """Forget a key's spent checks and delay (a successful sign-in of that username)."""
    now = timezone.now()
    SignInCounter.objects.filter(key=key).update(checks=0, window_started_at=now, next_check_at=now)
