"""The session as a page script sees it: whether the user is still signed in, and a fresh form token.

The page's session script uses it to keep the session alive ("stay signed in"), and after signing in
again from the in-place dialog to learn the new form token before it repeats the refused request.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import get_token
from django.views.decorators.cache import never_cache


@never_cache
def session_status(request: HttpRequest) -> JsonResponse:
    """Who is signed in (if anyone), the form token to send, and the idle limit in seconds.

    A request from a signed-in user also restarts the idle clock (sessions are saved on every request).
    """
    user = request.user
    return JsonResponse(
        {
            "authenticated": bool(user.is_authenticated),
            "username": user.get_username() if user.is_authenticated else "",
            "csrf_token": get_token(request),
            "idle_seconds": settings.SESSION_IDLE_MINUTES * 60,
        }
    )
