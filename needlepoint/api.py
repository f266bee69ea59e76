"""The JSON API at /api/v1/: django-ninja, OpenAPI at /api/v1/openapi.json.

Each request authenticates with a personal API token (``Authorization: Bearer np_…``) or the browser
session, and then runs under the same membership, access helper and audit trail as the pages.
Errors are JSON: ``{"detail": "…", "errors": {field: [messages]}}``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from needlepoint.accounts import audit
from needlepoint.accounts.middleware import _membership_for, client_address
from needlepoint.accounts.models import ApiToken, User
from needlepoint.accounts.requests import ClinicRequest
from needlepoint.visits.inputs import REFUSED

# A token's "last used" is kept to the minute: a client that reads many pages a minute writes it once, not on every
# request.
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """A personal API token, looked up by its hash; revoked, expired and inactive users' tokens are refused."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        request = cast(ClinicRequest, request)  # this authentication is what makes it one
        found = (
            ApiToken.objects.select_related("membership__clinic", "user")
            .filter(token_hash=ApiToken.hash_token(token), revoked_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if found is None or not found.membership.is_active or not found.user.is_active:
            return None
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.membership = found.membership
        request.user = found.user
        # The request's audit entries name the token's user, through the API (the middleware saw no session).
        request.audit_actor = audit.Actor(
            found.user_id, found.membership.clinic_id, "api", client_address(request), found.user.username
        )
        return found.user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session (CSRF-checked), for the pages' own scripts."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        request = cast(ClinicRequest, request)  # this authentication is what makes it one
        user = request.user
        if not user.is_authenticated:
            return None
        membership = _membership_for(request)
        if membership is None:
            return None
        request.membership = membership
        return user


api = NinjaAPI(
    title="Needlepoint API",
    version="1",
    description=__doc__ or "",
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api-v1",
)


def _error(
    request: ClinicRequest, status: int, detail: str, errors: dict[str, list[str]] | None = None
) -> HttpResponse:
    body: dict[str, object] = {"detail": detail}
    if errors:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


@api.exception_handler(ValidationError)
def on_validation_error(request: ClinicRequest, exc: ValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = {field: [str(m) for e in errs for m in e.messages] for field, errs in exc.error_dict.items()}
        detail = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
        return _error(request, 400, detail, errors)
    return _error(request, 400, " ".join(exc.messages))


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: ClinicRequest, exc: NinjaValidationError) -> HttpResponse:
    if exc.errors and all(item.get("type") == REFUSED for item in exc.errors):
        # Every value was read and some refused by a write's input (visits/inputs.py): a 400 with the messages
        # the page shows, as when the action refuses; 422 stays for a body that does not match the schema.
        refusals: dict[str, list[str]] = {}
        for item in exc.errors:
            refusals.setdefault(str(item["loc"][-1]), []).append(item["msg"])
        return on_validation_error(request, ValidationError(refusals))
    errors: dict[str, list[str]] = {}
    for item in exc.errors:
        # Ninja prefixes a location with where it came from ("body", "query"...) and, for a body schema
        # parameter, its name; the client only needs the field's own path.
        parts = [str(p) for p in item.get("loc", [])]
        while parts and parts[0] in ("body", "query", "path", "form"):
            parts.pop(0)
        field = ".".join(parts) or "body"
        errors.setdefault(field, []).append(item.get("msg", "invalid"))
    return _error(request, 422, "The request does not match the schema.", errors)


@api.exception_handler(Http404)
def on_not_found(request: ClinicRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "Not found.")


@api.exception_handler(PermissionDenied)
def on_denied(request: ClinicRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, str(exc) or "Your role does not allow this.")


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: ClinicRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "Authenticate with an API token: Authorization: Bearer <token>.")


@api.exception_handler(HttpError)
def on_http_error(request: ClinicRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc))


def _register_routers() -> None:
    from needlepoint.accounts.api import router as accounts_router
    from needlepoint.atlas.api import router as atlas_router
    from needlepoint.insights.api import router as insights_router
    from needlepoint.outcomes.api import router as outcomes_router
    from needlepoint.patients.api import router as patients_router
    from needlepoint.scheduling.api import router as scheduling_router
    from needlepoint.visits.api import router as visits_router
    from needlepoint.visits.needle_stick_api import router as needle_sticks_router

    api.add_router("/", accounts_router)
    api.add_router("/patients", patients_router)
    api.add_router("/atlas", atlas_router)
    api.add_router("/visits", visits_router)
    api.add_router("/needle-sticks", needle_sticks_router)
    api.add_router("/outcomes", outcomes_router)
    api.add_router("/insights", insights_router)
    api.add_router("/scheduling", scheduling_router)


_register_routers()
