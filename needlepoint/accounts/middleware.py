"""Request middleware: who is acting (clinic membership and audit actor), the sign-in requirement, and the
headers every response carries (no caching, the Content-Security-Policy)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse

from needlepoint.accounts import audit
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest

# Paths anyone may open: the sign-in page, static files, the site icon, patients' own link pages, the public
# handout and its references. /session/ answers signed-out pages too: the sign-in dialog asks it for a form
# token and whom it signed in. The API and FHIR endpoints authenticate each request themselves (token or
# session), OAuth's token and revocation endpoints their client, and a calendar feed its unguessable token.
# OpenID Connect discovery and the key set that verifies ID tokens are public by definition; userinfo
# authenticates its access token itself.
PUBLIC_PREFIXES = (
    "/login/",
    "/password-reset/",
    "/session/",
    "/static/",
    "/p/",
    "/r/",
    "/about-dry-needling/",
    "/references/",
    "/api/",
    "/fhir/",
    "/oauth/token/",
    "/oauth/revoke/",
    "/oauth/jwks/",
    "/oauth/userinfo/",
    "/.well-known/openid-configuration",
    "/healthz",
    "/favicon.ico",
    "/calendar-feed/",
)


def _trusted_proxies() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(entry, strict=False) for entry in settings.TRUSTED_PROXIES]
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc


def _is_trusted(address: str, proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request: HttpRequest) -> str | None:
    """The client's address: the peer's, or behind a trusted proxy the nearest untrusted X-Forwarded-For hop.

    The header is read right to left and only while each hop is a proxy in TRUSTED_PROXIES, so a client
    cannot put a made-up address in front of the real one.
    """
    peer: str | None = request.META.get("REMOTE_ADDR") or None
    proxies = _trusted_proxies()
    if not peer or not proxies or not _is_trusted(peer, proxies):
        return peer
    address = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop = hop.strip()
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # a malformed hop: keep the last address a trusted proxy vouched for
        address = hop
        if not _is_trusted(hop, proxies):
            break
    return address


class ClinicContextMiddleware:
    """Sets ``request.membership`` (the clinic role the user acts under) and ``request.audit_actor``.

    Each request is one audit event: whatever it reads or writes leaves one entry (``audit.event``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: ClinicRequest) -> HttpResponse:
        request.membership = None
        user = request.user
        if user.is_authenticated:
            request.membership = _membership_for(request)
        membership = request.membership
        # Who the request's audit entries name; the API's token authentication replaces it (needlepoint/api.py).
        request.audit_actor = audit.Actor(
            user_id=user.pk if user.is_authenticated else None,
            clinic_id=membership.clinic_id if membership else None,
            via="web",
            client_address=client_address(request),
            label=user.get_username() if user.is_authenticated else "anonymous",
        )
        with audit.event(lambda: request.audit_actor):
            return self.get_response(request)


def _membership_for(request: HttpRequest) -> Membership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = list(user.active_memberships())
    chosen = request.session.get("membership_id")
    for membership in memberships:
        if membership.pk == chosen:
            return membership
    return memberships[0] if memberships else None


class LoginRequiredMiddleware:
    """Every page needs a signed-in user, except the public prefixes above.

    A form posted after the session expired is turned back to the sign-in page before any view runs,
    so nothing is saved, and the page says why. A request from a page script (htmx) gets a 401 instead:
    the page keeps what was typed, shows a sign-in dialog in place and sends the request again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: ClinicRequest) -> HttpResponse:
        if request.user.is_authenticated or request.path.startswith(PUBLIC_PREFIXES):
            return self.get_response(request)
        params = {"next": request.get_full_path()}
        if request.method == "POST" or request.COOKIES.get(settings.SESSION_COOKIE_NAME):
            params["expired"] = "1"
        if request.headers.get("HX-Request") or request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse({"error": "Your session has expired. Sign in again."}, status=401)
        return HttpResponseRedirect(f"{settings.LOGIN_URL}?{urlencode(params)}")


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response that does not set its own caching.

    Pages, PDFs, CSV and JSON carry patient data; no browser, shared computer or proxy may keep a copy.
    Responses that chose their caching themselves (the site icon, static files) keep it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: ClinicRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


# Everything a page uses comes from this server: scripts and styles only from files under /static/ (no inline
# <script>, <style>, style="..." or on...= handler runs), images from here or data: URLs (the progress report's
# charts), no plugins, no <base> rewriting, no framing, forms post only here. Neither 'unsafe-inline' nor
# 'unsafe-eval': data reaches scripts through json_script blocks and data- attributes.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """The strict ``Content-Security-Policy`` above on every response, so injected markup cannot run or restyle.

    A fixed policy with no nonces is one header, so a few lines here rather than a dependency (Django 5.2 has
    no CSP of its own; 6.0's ``ContentSecurityPolicyMiddleware`` can replace this). PDFs are left without it:
    Chrome's built-in viewer draws a PDF inside a page of its own that the policy would break (Chromium issue
    271452), and a PDF runs none of our scripts; they keep ``X-Frame-Options: DENY``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: ClinicRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.get("Content-Type", "").startswith("application/pdf"):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
