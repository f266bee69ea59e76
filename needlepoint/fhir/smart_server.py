"""The SMART App Launch 2.0 authorisation server, built on django-oauth-toolkit (DOT).

DOT does the OAuth 2.0 work (authorization code with PKCE S256, token, refresh-token rotation with reuse
detection, RFC 7009 revocation); this module adds what SMART needs on top: scopes checked against what the app was
registered with (``smart_scopes``), the launch patient chosen on the consent page or brought by an EHR launch, the
``patient`` field of the token response, and the backend-services client credentials (a JWT assertion signed with
RS384 or ES384, see ``smart_backend``), and OpenID Connect: an ID token signed RS256 with the server's key
(``needlepoint.signing_key``) when ``openid`` is granted, naming the user's Practitioner in ``fhirUser`` when
that scope is granted too. Tokens are stored as checksums only.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider import views as dot_views
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import AccessToken, RefreshToken, get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_patient, listed, patients_for
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.fhir import smart_access, smart_scopes
from needlepoint.fhir.models import AppAuthorisation, AuthorisedToken, EhrLaunch, SmartApp
from needlepoint.fhir.records import RESOURCE_TYPES
from needlepoint.fhir.smart_scopes import ScopeError
from needlepoint.inputs import whole_number
from needlepoint.patients.models import Patient, normalise_name
from needlepoint.patients.search import starts_with

EHR_LAUNCH_MINUTES = 5
PATIENT_CHOICES = 20
IDENTITY_SCOPES = ("openid", "fhirUser")
ID_TOKEN_ALGORITHM = "RS256"


def oidc_enabled() -> bool:
    """Whether ID tokens are issued: a signing key is configured (or kept by the local server)."""
    return bool(oauth2_settings.OIDC_ENABLED and oauth2_settings.OIDC_RSA_PRIVATE_KEY)


def signing_key() -> jwk.JWK:
    """The server's RSA key that signs every ID token (one key for every app, published in the JWKS)."""
    return jwk_from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY)


class _CalledAs(HttpRequest):
    """A Django request rebuilt from an oauthlib request's headers (DOT copies the request's META into them and
    marks a secure one), to build addresses as the client called the server."""

    def _get_scheme(self) -> str:
        return "https" if self.META.get("X_DJANGO_OAUTH_TOOLKIT_SECURE") else "http"


def site_root(request: Any) -> str:
    """The server's scheme and host as the client called it (``https://clinic.example``), from a Django or an
    oauthlib request: the OpenID Connect issuer, and the RFC 9207 ``iss`` DOT sends with the code."""
    if isinstance(request, HttpRequest):
        return request.build_absolute_uri("/").rstrip("/")
    rebuilt = _CalledAs()
    rebuilt.META = dict(request.headers)
    return rebuilt.build_absolute_uri("/").rstrip("/")


def practitioner_url(root: str, membership_id: int) -> str:
    """The absolute URL of a membership's Practitioner (the ``fhirUser`` claim)."""
    return f"{root}/fhir/R4/Practitioner/{membership_id}"


def checksum(value: str) -> str:
    """SHA-256 of a code or token, as stored (DOT stores tokens' checksums the same way)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def app_for(client: Any) -> SmartApp | None:
    """The SMART app of a DOT Application, if it is one and is not disabled."""
    app = SmartApp.objects.select_related("clinic", "registered_by").filter(application=client).first()
    return app if app is not None and app.disabled_at is None else None


class SmartScopesBackend(BaseScopes):
    """Scopes for DOT: any SMART scope the parser understands; an app's default is what it was registered with."""

    class _Descriptions(dict[str, str]):
        def __missing__(self, scope: str) -> str:
            try:
                return smart_scopes.describe(scope)
            except ScopeError:
                return scope

    def get_all_scopes(self) -> dict[str, str]:
        """Every scope's description, made on demand (SMART scopes are combinations, not a list)."""
        return self._Descriptions(smart_scopes.LAUNCH_SCOPES)

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        """The scopes the app was registered with."""
        app = app_for(application) if application is not None else None
        return app.allowed_scopes.split() if app else []

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list[str]:
        """Without a scope parameter, the app asks for what it was registered with."""
        return self.get_available_scopes(application, request)


class SmartValidator(OAuth2Validator):
    """DOT's validator, with SMART scopes and the link from codes and tokens to the user's ``AppAuthorisation``,
    and DOT's OpenID Connect with SMART's ``fhirUser`` claim and one server key for every app's ID tokens."""

    # A claim is given only when its scope was granted: sub for openid, fhirUser for fhirUser (SMART 2.0).
    oidc_claim_scope = {"sub": "openid", "fhirUser": "fhirUser"}

    def validate_scopes(
        self, client_id: str, scopes: list[str], client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """Every scope a SMART scope, within the app's registration; system/ scopes only for backend services."""
        app = app_for(client)
        if app is None:
            return False
        try:
            wanted = smart_scopes.parse(" ".join(scopes))
            allowed = smart_scopes.parse(app.allowed_scopes)
        except ScopeError:
            return False
        backend = app.kind == SmartApp.Kind.BACKEND
        if any((s.context == "system") != backend for s in wanted.resource):
            return False
        if not oidc_enabled() and set(IDENTITY_SCOPES) & wanted.other:
            return False  # no signing key: an identity scope would be granted with no ID token behind it
        return wanted.within(allowed)

    def save_authorization_code(
        self, client_id: str, code: dict[str, Any], request: Any, *args: Any, **kwargs: Any
    ) -> None:
        """Save the code and remember it on the authorisation the user just gave."""
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        authorisation_id = getattr(request, "smart_authorisation_id", None)
        if authorisation_id is None:  # every code is issued through the consent page, which sets it
            return
        AppAuthorisation.objects.filter(pk=authorisation_id).update(code_hash=checksum(code["code"]))

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        """A valid code whose authorisation still stands."""
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        found = _standing(AppAuthorisation.objects.filter(code_hash=checksum(code))).first()
        request.smart_authorisation = found
        return found is not None

    def validate_refresh_token(self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        """A valid refresh token whose authorisation still stands: a deactivated user gets no fresh access or
        ID token, whatever tokens they were given before."""
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        family = request.refresh_token_instance.token_family
        found = _standing(AppAuthorisation.objects.filter(token_family=family)).first()
        request.smart_authorisation = found
        return found is not None

    def _create_refresh_token(
        self, request: Any, refresh_token_code: str, access_token: AccessToken, previous_refresh_token: Any
    ) -> RefreshToken:
        refresh = super()._create_refresh_token(request, refresh_token_code, access_token, previous_refresh_token)
        authorisation = getattr(request, "smart_authorisation", None)
        if authorisation is not None and authorisation.token_family is None:
            AppAuthorisation.objects.filter(pk=authorisation.pk).update(token_family=refresh.token_family)
            authorisation.token_family = refresh.token_family
        return refresh

    def _create_access_token(
        self, expires: Any, request: Any, token: dict[str, Any], source_refresh_token: Any = None
    ) -> AccessToken:
        access = super()._create_access_token(expires, request, token, source_refresh_token)
        authorisation = getattr(request, "smart_authorisation", None)
        app = SmartApp.objects.get(application=request.client)
        AuthorisedToken.objects.create(
            access_token=access, clinic_id=app.clinic_id, app=app, authorisation=authorisation
        )
        return access

    # ------------------------------------------------------------------------------------------ OpenID Connect

    def get_oidc_issuer_endpoint(self, request: Any) -> str:
        """The issuer: the server's root, as discovery (/.well-known/openid-configuration) and the RFC 9207
        ``iss`` of the authorization response name it."""
        return site_root(request)

    def validate_bearer_token(self, token: str, scopes: list[str], request: Any) -> bool:
        """An access token at the userinfo endpoint (the one view that asks DOT to check a bearer token; the FHIR
        endpoints use ``smart_access``): DOT's check (known, not expired), then the FHIR endpoints' own
        (``smart_access.standing``: its app, authorisation, membership and user still stand), so a revoked
        authorisation or a deactivated member's token gets no claims. A user's authorisation names the claims
        (``fhirUser``), as at the token endpoint. The scopes the view needs (``openid``) are not checked here:
        oauthlib then refuses a token that stands but lacks them with 403 insufficient_scope (RFC 6750), not with
        401 as if the token were expired or revoked."""
        if not super().validate_bearer_token(token, [], request):
            return False
        found = smart_access.standing(token)
        if found is None or found[0].authorisation is None:
            request.oauth2_error = {"error": "invalid_token", "error_description": "The access token is invalid."}
            return False
        request.smart_authorisation = found[0].authorisation
        return True

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        """SMART's ``fhirUser``: the absolute URL of the Practitioner of the membership that authorised the app
        (kept only when the fhirUser scope was granted, by ``oidc_claim_scope``)."""
        authorisation = getattr(request, "smart_authorisation", None)
        if authorisation is None:
            return {}
        return {"fhirUser": practitioner_url(site_root(request), authorisation.membership_id)}

    def finalize_id_token(self, id_token: dict[str, Any], token: Any, token_handler: Any, request: Any) -> str:
        """DOT's ID token, signed RS256 with the server's key (named by ``kid``) whatever the app's row says:
        SMART apps register no signing algorithm of their own."""
        claims, expires = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        key = signing_key()
        header = {"typ": "JWT", "alg": ID_TOKEN_ALGORITHM, "kid": key.thumbprint()}
        signed = jwt.JWT(header=json.dumps(header), claims=json.dumps(id_token, default=str))
        signed.make_signed_token(key)
        with transaction.atomic():
            saved = self._save_id_token(id_token["jti"], request, expires)
        request.access_token = saved  # as DOT does: the access token saved next links to it
        request.id_token = saved
        return str(signed.serialize())

    def _get_key_for_token(self, token: str) -> jwk.JWK | None:
        """The key an ID token of this server is checked with: the server's (not the app's)."""
        return signing_key() if oidc_enabled() else None


# ---------------------------------------------------------------------------------------------- authorize


class ConsentForm(AllowForm):
    """DOT's consent form with the launch context: the ``launch`` of an EHR launch, or the patient chosen."""

    launch = forms.CharField(required=False, widget=forms.HiddenInput())
    patient = forms.CharField(required=False)


def _ehr_launch(value: str, membership: Membership, app: SmartApp | None) -> EhrLaunch:
    since = timezone.now() - timedelta(minutes=EHR_LAUNCH_MINUTES)
    found = EhrLaunch.objects.select_related("patient").filter(
        pk=value, membership=membership, app=app, created_at__gte=since
    )
    launch = found.first()
    if launch is None:
        raise ValidationError("This launch is unknown or older than five minutes: open the app again from Needlepoint.")
    return launch


class AuthorizeView(dot_views.AuthorizationView):
    """GET /oauth/authorize: the consent page (the app, what it asks for, the patient when it needs one);
    POST: the user's answer. A ``launch`` from a patient's page fixes the patient; ``launch/patient`` without it
    lets the user find and choose one of their clinic's patients."""

    template_name = "fhir/smart_authorize.html"
    form_class = ConsentForm

    def get_initial(self) -> dict[str, Any]:
        """DOT's hidden fields, plus the EHR launch."""
        return {**super().get_initial(), "launch": self.request.GET.get("launch", "")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """The app, the scopes in words, and the patient (fixed by the launch, or the choices found)."""
        context = super().get_context_data(**kwargs)
        membership = getattr(self.request, "membership", None)
        scopes = self.request.GET.get("scope", "").split() or context.get("scopes", [])
        context["membership"] = membership
        context["scope_lines"] = [smart_scopes.LAUNCH_SCOPES.get(s) or self._describe(s) for s in scopes]
        context["query_items"] = [(k, v) for k, v in self.request.GET.items() if k != "find"]
        launch = self.request.GET.get("launch", "")
        app = app_for(context.get("application")) if context.get("application") else None
        if membership is None:
            context["refusal"] = "You are not a member of any clinic."
        elif app is not None and app.clinic_id != membership.clinic_id:
            context["refusal"] = "This app is registered by another clinic, not the one you are working in."
        elif launch:
            try:
                context["launch_patient"] = _ehr_launch(launch, membership, app).patient
            except ValidationError as exc:
                context["refusal"] = exc.messages[0]
        elif "launch/patient" in scopes:
            context["needs_patient"] = True
            context["find"] = self.request.GET.get("find", "")
            context["choices"] = self._choices(membership, context["find"])
        return context

    @staticmethod
    def _describe(scope: str) -> str:
        try:
            return smart_scopes.describe(scope)
        except ScopeError:
            return scope

    @staticmethod
    def _choices(membership: Membership, find: str) -> list[Any]:
        typed = normalise_name(find)
        if not typed:
            return []
        found = patients_for(membership).filter(
            starts_with("search_name", typed) | starts_with("search_given_first", typed)
        )
        chosen = list(found.order_by("search_name", "pk")[:PATIENT_CHOICES])
        return list(listed(chosen, "patients to choose for an app")) if chosen else []

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        """Pass the authorisation recorded in ``form_valid`` on to the validator, which links the code to it."""
        credentials["smart_authorisation_id"] = getattr(self, "_authorisation_id", None)
        return super().create_authorization_response(request, scopes, credentials, allow)

    def form_valid(self, form: ConsentForm) -> HttpResponse:
        """Record the user's consent (with the launch patient) before DOT issues the code."""
        if form.cleaned_data.get("allow"):
            membership = getattr(self.request, "membership", None)
            application = get_application_model().objects.filter(client_id=form.cleaned_data["client_id"]).first()
            app = app_for(application) if application else None
            if membership is None or app is None or app.clinic_id != membership.clinic_id:
                form.add_error(None, "This app is not registered in your clinic.")
                return self.form_invalid(form)
            try:
                patient = self._launch_patient(form, membership, app)
            except ValidationError as exc:
                form.add_error(None, exc.messages[0])
                return self.form_invalid(form)
            with transaction.atomic():  # the consent and its audit entry are kept together or not at all
                authorisation = audit.wrote(
                    AppAuthorisation.objects.create(
                        clinic_id=app.clinic_id,
                        app=app,
                        membership=membership,
                        patient=patient,
                        scope=form.cleaned_data["scope"],
                    ),
                    created=True,
                )
            self._authorisation_id = authorisation.pk
        return super().form_valid(form)

    def form_invalid(self, form: ConsentForm) -> HttpResponse:
        """Show the page again with the form's message."""
        self.oauth2_data = {**form.data.dict(), "scopes": form.data.get("scope", "").split()}
        return self.render_to_response(self.get_context_data(form=form))

    @staticmethod
    def _launch_patient(form: ConsentForm, membership: Membership, app: SmartApp) -> Patient | None:
        scopes = form.cleaned_data["scope"].split()
        if form.cleaned_data.get("launch"):
            return _ehr_launch(form.cleaned_data["launch"], membership, app).patient
        if "launch/patient" in scopes or any(s.startswith("patient/") for s in scopes):
            chosen = form.cleaned_data.get("patient") or ""
            if not chosen:
                raise ValidationError("Choose the patient the app will work with.")
            return get_patient(membership, chosen, Capability.VIEW_DEMOGRAPHICS)
        return None


# ---------------------------------------------------------------------------------------------- token


class TokenView(dot_views.TokenView):
    """POST /oauth/token: DOT's token endpoint, with SMART's launch context in the answer (``patient``), and the
    backend-services client credentials (a signed JWT assertion) handled by ``smart_backend``."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Issue a token: a backend service's, or DOT's for a code or a refresh token."""
        from needlepoint.fhir import smart_backend

        if request.POST.get("client_assertion_type") == smart_backend.ASSERTION_TYPE:
            return smart_backend.token_response(request)
        response = super().post(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        body = json.loads(response.content)
        link = (
            AuthorisedToken.objects.select_related("authorisation")
            .filter(access_token__token_checksum=checksum(body.get("access_token", "")))
            .first()
        )
        authorisation = link.authorisation if link else None
        if authorisation is not None and not {"offline_access", "online_access"} & set(authorisation.scope.split()):
            # SMART: a refresh token only for an app that asked for offline_access or online_access.
            RefreshToken.objects.filter(token_checksum=checksum(body.pop("refresh_token", ""))).delete()
        if authorisation is not None and authorisation.patient_id is not None:
            body["patient"] = str(authorisation.patient_id)
            body["need_patient_banner"] = True
        response.content = json.dumps(body).encode()
        return response


class RevokeView(dot_views.RevokeTokenView):
    """POST /oauth/revoke: RFC 7009 revocation of an access or refresh token."""


def _standing(authorisations: QuerySet[AppAuthorisation]) -> QuerySet[AppAuthorisation]:
    """The authorisations that may still be used at the token endpoint: not revoked, their membership and user
    active, their app not disabled."""
    return authorisations.filter(
        revoked_at__isnull=True,
        membership__is_active=True,
        membership__user__is_active=True,
        app__disabled_at__isnull=True,
    )


def _end_tokens(authorisation: AppAuthorisation) -> None:
    """End every token an authorisation holds: its access tokens are revoked (deleted) and its refresh tokens
    revoked, those already detached from an access token included."""
    for token in AccessToken.objects.filter(smart__authorisation=authorisation):
        token.revoke()
    RefreshToken.revoke_family(authorisation.token_family)


def revoke_member_authorisations(sender: Any, membership: Membership, **kwargs: Any) -> None:
    """Receiver of ``member_deactivated``: a deactivated member's app authorisations are revoked and their tokens
    ended in the deactivation's transaction, so no app keeps acting (or refreshing ID tokens) for them."""
    now = timezone.now()
    for authorisation in AppAuthorisation.objects.select_for_update().filter(
        membership=membership, revoked_at__isnull=True
    ):
        authorisation.revoked_at = now
        authorisation.save(update_fields=["revoked_at"])
        audit.wrote(authorisation, created=False)
        _end_tokens(authorisation)


def revoke_authorisation(membership: Membership, authorisation_id: int) -> AppAuthorisation:
    """The user withdraws an app's access: the authorisation is marked revoked and every token it holds ends
    (its access tokens are deleted, its refresh tokens revoked). Only the user's own authorisations."""
    with transaction.atomic():
        found = AppAuthorisation.objects.select_for_update().filter(
            pk=authorisation_id, membership=membership, revoked_at__isnull=True
        )
        authorisation = found.select_related("app__application").first()
        if authorisation is None:
            raise ValidationError("No such app authorisation of yours.")
        authorisation.revoked_at = timezone.now()
        authorisation.save(update_fields=["revoked_at"])
        audit.wrote(authorisation, created=False)
        _end_tokens(authorisation)
    return authorisation


def new_ehr_launch(membership: Membership, app_id: int, patient_id: int | str) -> tuple[EhrLaunch, str]:
    """A launch of an app from a patient's page: the launch value and the address that opens the app with it."""
    patient = get_patient(membership, patient_id, Capability.VIEW_DEMOGRAPHICS)
    app = SmartApp.objects.filter(pk=app_id, clinic_id=membership.clinic_id, disabled_at__isnull=True).first()
    if app is None or not app.launch_uri:
        raise ValidationError("This app cannot be launched from a patient's page (no launch address).")
    launch = EhrLaunch.objects.create(
        id=secrets.token_urlsafe(32), clinic_id=app.clinic_id, app=app, membership=membership, patient=patient
    )
    return launch, app.launch_uri


def _scopes_supported() -> list[str]:
    """The scopes discovery lists: launch, identity (when ID tokens are issued) and resource scopes."""
    launch = {s for s in smart_scopes.LAUNCH_SCOPES if oidc_enabled() or s not in IDENTITY_SCOPES}
    return sorted(
        {*launch, "patient/*.rs", "user/*.rs", "user/*.cruds", "system/*.rs", "user/Practitioner.rs"}
        | {f"{c}/{t}.rs" for c in ("patient", "user") for t in RESOURCE_TYPES}
    )


def smart_configuration(request: HttpRequest) -> JsonResponse:
    """GET [base]/.well-known/smart-configuration: SMART App Launch 2.0 discovery (public, no patient data). The
    OpenID Connect fields (issuer, jwks_uri, sso-openid-connect) only when ID tokens are issued."""
    root = site_root(request)
    body: dict[str, Any] = {
        "authorization_endpoint": f"{root}/oauth/authorize/",
        "token_endpoint": f"{root}/oauth/token/",
        "revocation_endpoint": f"{root}/oauth/revoke/",
        "management_endpoint": f"{root}/account/apps/",
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_post", "client_secret_basic"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": _scopes_supported(),
        "capabilities": [
            "launch-ehr",
            "launch-standalone",
            "client-public",
            "client-confidential-symmetric",
            "client-confidential-asymmetric",
            "context-ehr-patient",
            "context-standalone-patient",
            "context-banner",
            "permission-offline",
            "permission-online",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2",
        ],
    }
    if oidc_enabled():
        body = {"issuer": root, "jwks_uri": f"{root}/oauth/jwks/", **body}
        body["capabilities"].append("sso-openid-connect")
    return JsonResponse(body, headers={"Cache-Control": "public, max-age=3600"})


def openid_configuration(request: HttpRequest) -> JsonResponse:
    """GET /.well-known/openid-configuration: OpenID Connect Discovery 1.0 for the issuer (the server's root),
    naming only what the server does: the code flow with PKCE, ID tokens signed RS256 with the key in jwks_uri,
    the claims sub and fhirUser (in the ID token and at userinfo_endpoint). 404 when no signing key is configured
    (OpenID Connect off)."""
    if not oidc_enabled():
        raise Http404("OpenID Connect is off on this server: no ID-token signing key is configured.")
    root = site_root(request)
    body = {
        "issuer": root,
        "authorization_endpoint": f"{root}/oauth/authorize/",
        "token_endpoint": f"{root}/oauth/token/",
        "revocation_endpoint": f"{root}/oauth/revoke/",
        "jwks_uri": f"{root}/oauth/jwks/",
        "userinfo_endpoint": f"{root}/oauth/userinfo/",
        "scopes_supported": _scopes_supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ID_TOKEN_ALGORITHM],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "fhirUser"],
        "authorization_response_iss_parameter_supported": True,
    }
    return JsonResponse(body, headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"})


class UserInfoView(dot_views.UserInfoView):
    """GET or POST /oauth/userinfo/: OpenID Connect's userinfo, DOT's view. The access token (in the Authorization
    header) must hold ``openid`` and still stand; the answer is the ID token's claims for it (``sub``, and
    ``fhirUser`` when that scope was granted; ``SmartValidator``). No patient data, so no audit entry, as for the
    ID token itself. A token that is not valid: 401 invalid_token; one without ``openid``: 403 insufficient_scope.
    404 when OpenID Connect is off."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """The claims, or the refusal; 404 without a signing key."""
        if not oidc_enabled():
            raise Http404("OpenID Connect is off on this server.")
        response: HttpResponse = super().dispatch(request, *args, **kwargs)
        if response.status_code in (401, 403):
            response["Content-Type"] = "application/json"  # oauthlib's error body is JSON, whatever its header says
        if response.status_code == 403 and "WWW-Authenticate" not in response:
            # RFC 6750 section 3: the challenge names the error and the scope needed (oauthlib gives it for 401 only).
            response["WWW-Authenticate"] = 'Bearer error="insufficient_scope", scope="openid"'
        return response


class JwksView(dot_views.JwksInfoView):
    """GET /oauth/jwks/: the public key that verifies ID tokens (DOT's JWKS, with the key's ``kid``); 404 when
    OpenID Connect is off."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """The key set, or 404 without a signing key."""
        if not oidc_enabled():
            raise Http404("OpenID Connect is off on this server.")
        response: HttpResponse = super().get(request, *args, **kwargs)
        return response


def with_smart_security(statement: dict[str, Any], root: str) -> dict[str, Any]:
    """The CapabilityStatement's rest.security: the SMART-on-FHIR service and the oauth-uris extension (SMART App
    Launch 2.0.0, "Conformance"), beside the personal tokens and the session that also work."""
    oauth = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    statement["rest"][0]["security"] = {
        "cors": False,
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ],
                "text": "SMART on FHIR (OAuth 2.0); also a personal API token or the signed-in session",
            }
        ],
        "extension": [
            {
                "url": oauth,
                "extension": [
                    {"url": "authorize", "valueUri": f"{root}/oauth/authorize/"},
                    {"url": "token", "valueUri": f"{root}/oauth/token/"},
                    {"url": "revoke", "valueUri": f"{root}/oauth/revoke/"},
                    {"url": "manage", "valueUri": f"{root}/account/apps/"},
                ],
            }
        ],
        "description": (
            "SMART App Launch 2.0 (standalone and EHR launch, PKCE S256, scopes v2 with v1 aliases) and Backend "
            "Services (private_key_jwt, RS384/ES384) for $export; discovery at .well-known/smart-configuration. "
            + (
                "OpenID Connect: openid gives an ID token (RS256, keys at /oauth/jwks/), fhirUser names the "
                "user's Practitioner. "
                if oidc_enabled()
                else ""
            )
            + "A scope never grants more than the user's role: clinicians and clinic admins read clinical "
            "resources, front desk Patient only, every member the clinic's Practitioners; patient/ scopes reach "
            "the launch patient alone and the Practitioners their resources reference."
        ),
    }
    return statement


def launch_app(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """POST from a patient's page: start an EHR launch of the chosen app (redirect to its launch address with
    ``iss`` and ``launch``)."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    membership = member(request)
    try:
        launch, uri = new_ehr_launch(membership, whole_number(request.POST.get("app", ""), smallest=1) or 0, patient_id)
    except ValidationError as exc:
        return HttpResponse(exc.messages[0], status=400, content_type="text/plain")
    separator = "&" if "?" in uri else "?"
    query = urlencode({"iss": request.build_absolute_uri("/fhir/R4"), "launch": launch.pk})
    return redirect(f"{uri}{separator}{query}")
