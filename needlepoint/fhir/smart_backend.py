"""SMART Backend Services: a registered service gets a short-lived token for system/ scopes by presenting a JWT it
signed with its private key (RS384 or ES384), checked against the public keys (JWKS) registered with it
(SMART App Launch 2.0.0, "Backend Services"; RFC 7523). Each assertion is accepted once (its ``jti``) and lives
at most five minutes; the token lives ``SMART_BACKEND_TOKEN_SECONDS`` (five minutes)."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException
from oauth2_provider.models import AccessToken, get_application_model, set_token_value

from needlepoint.accounts import audit
from needlepoint.fhir import smart_scopes
from needlepoint.fhir.models import AssertionSeen, AuthorisedToken, SmartApp
from needlepoint.fhir.smart_scopes import ScopeError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS384", "ES384")
MAX_ASSERTION_SECONDS = 300


class Refused(Exception):
    """The token request is refused: the OAuth error code, its description and the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def key_set(text: str) -> dict[str, Any]:
    """A JWK Set (or one JWK) as registered: public keys only, each RSA or EC; ValueError with the reason."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"The public keys are not JSON: {exc}.") from None
    keys = parsed.get("keys") if isinstance(parsed, dict) and "keys" in parsed else [parsed]
    if not isinstance(keys, list) or not keys:
        raise ValueError('Give a JWK Set ({"keys": [...]}) with at least one public key.')
    for entry in keys:
        try:
            key = jwk.JWK(**entry)
        except (TypeError, JWException, ValueError) as exc:
            raise ValueError(f"A key is not a JWK: {exc}.") from None
        if key.has_private:
            raise ValueError("That is a private key: register the public key only.")
        if entry.get("kty") not in ("RSA", "EC"):
            raise ValueError("Keys are RSA (RS384) or EC P-384 (ES384).")
    return {"keys": keys}


def _claims(assertion: str, app: SmartApp, audience: str) -> dict[str, Any]:
    keys = jwk.JWKSet.from_json(json.dumps(app.jwks))
    try:
        token = jwt.JWT(jwt=assertion, key=keys, algs=list(ALGORITHMS), expected_type="JWS")
        claims: dict[str, Any] = json.loads(token.claims)
    except (JWException, jws.InvalidJWSSignature, ValueError) as exc:
        raise Refused("invalid_client", f"The assertion's signature does not verify: {exc}.", 401) from None
    client_id = app.application.client_id
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise Refused("invalid_client", "The assertion's iss and sub are the client id.", 401)
    aud = claims.get("aud")
    audiences: list[Any] = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise Refused("invalid_client", f"The assertion's aud is the token endpoint, {audience}.", 401)
    now = time.time()
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or expires <= now or expires > now + MAX_ASSERTION_SECONDS + 30:
        raise Refused("invalid_client", "The assertion expires within five minutes from now (exp).", 401)
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise Refused("invalid_client", "The assertion has a unique jti.", 401)
    return claims


def _app(assertion: str) -> SmartApp:
    """The backend-service app named by the assertion's (unverified) iss; verified next against its keys."""
    try:
        unverified = json.loads(jwt.JWT(jwt=assertion).token.objects["payload"])
    except (JWException, ValueError, KeyError, TypeError):
        raise Refused("invalid_client", "client_assertion is not a signed JWT.", 401) from None
    application = get_application_model().objects.filter(client_id=str(unverified.get("iss", ""))).first()
    app = SmartApp.objects.select_related("application", "registered_by__user").filter(application=application)
    found = app.first()
    if found is None or found.disabled_at is not None or found.kind != SmartApp.Kind.BACKEND:
        raise Refused("invalid_client", "No backend service with that client id is registered.", 401)
    return found


def issue(request: HttpRequest) -> dict[str, Any]:
    """Check the client-credentials request and its assertion; the token response's body."""
    if request.POST.get("grant_type") != "client_credentials":
        raise Refused("unsupported_grant_type", "A signed assertion goes with grant_type=client_credentials.")
    assertion = request.POST.get("client_assertion", "")
    app = _app(assertion)
    claims = _claims(assertion, app, request.build_absolute_uri(request.path))
    try:
        wanted = smart_scopes.parse(request.POST.get("scope", ""))
    except ScopeError as exc:
        raise Refused("invalid_scope", str(exc)) from None
    if not wanted.resource or wanted.other or any(s.context != "system" for s in wanted.resource):
        raise Refused("invalid_scope", "A backend service asks for system/ scopes only, e.g. system/*.rs.")
    if not wanted.within(smart_scopes.parse(app.allowed_scopes)):
        raise Refused("invalid_scope", f"The app is registered for {app.allowed_scopes} only.")
    if not app.registered_by.is_active:
        raise Refused("invalid_client", "The admin who registered this service is no longer active.", 401)
    seconds = settings.SMART_BACKEND_TOKEN_SECONDS
    raw = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            seen_until = datetime.fromtimestamp(claims["exp"], tz=UTC)
            AssertionSeen.objects.create(
                clinic_id=app.clinic_id, app=app, jti=claims["jti"][:200], expires_at=seen_until
            )
            token = AccessToken(
                user=app.registered_by.user,
                application=app.application,
                scope=wanted.text(),
                expires=timezone.now() + timedelta(seconds=seconds),
            )
            set_token_value(token, raw)
            token.save()
            AuthorisedToken.objects.create(access_token=token, clinic_id=app.clinic_id, app=app)
            audit.record("create", app, summary=f"backend token issued to {app} ({wanted.text()})")
    except IntegrityError:
        raise Refused("invalid_client", "This assertion was already used (jti).", 401) from None
    AssertionSeen.objects.filter(expires_at__lt=timezone.now()).delete()
    return {"access_token": raw, "token_type": "bearer", "expires_in": seconds, "scope": wanted.text()}


def token_response(request: HttpRequest) -> JsonResponse:
    """The token endpoint's answer to a backend service: the token, or the OAuth error."""
    try:
        return JsonResponse(issue(request), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
    except Refused as refused:
        body = {"error": refused.error, "error_description": refused.description}
        return JsonResponse(body, status=refused.status, headers={"Cache-Control": "no-store"})
