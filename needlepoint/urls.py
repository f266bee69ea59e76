"""URL map: pages per app, the JSON API under /api/v1/."""

from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path

from needlepoint import citations
from needlepoint.accounts import views as account_views
from needlepoint.accounts.session import session_status
from needlepoint.api import api
from needlepoint.fhir import smart_pages, smart_server
from needlepoint.fhir import views as fhir_views
from needlepoint.fhir.record_views import record_export as record_export_view
from needlepoint.patients import views as patient_views

handler404 = "needlepoint.web.page_not_found"
handler403 = "needlepoint.web.permission_denied"
handler500 = "needlepoint.web.server_error"


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness check for load balancers."""
    return HttpResponse("ok", content_type="text/plain")


FAVICON = Path(__file__).parent / "static" / "favicon.ico"


def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico for clients that ask for it without reading the page's icon link (PDF viewers, API docs)."""
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


urlpatterns = [
    path("login/", account_views.login_view, name="login"),
    path("login/code/", account_views.login_code, name="login_code"),
    path("login/enrol/", account_views.login_enrol, name="login_enrol"),
    path("login/passkey/options/", account_views.login_passkey_options, name="login_passkey_options"),
    path("login/passkey/", account_views.login_passkey, name="login_passkey"),
    path("account/passkeys/options/", account_views.passkey_options, name="passkey_options"),
    path("account/passkeys/", account_views.passkey_register, name="passkey_register"),
    path("password-reset/<str:uidb64>/<str:token>/", account_views.password_reset, name="password_reset"),
    path("account/security/", account_views.security, name="security"),
    path("logout/", account_views.logout_view, name="logout"),
    path("session/", session_status, name="session_status"),
    path("switch-clinic/", account_views.switch_clinic, name="switch_clinic"),
    path("account/tokens/", account_views.tokens, name="tokens"),
    path("audit/", account_views.audit_list, name="audit"),
    path("staff/", account_views.staff, name="staff"),
    path("clinic/letterhead/", account_views.letterhead, name="letterhead"),
    path("audit.csv", account_views.audit_csv, name="audit_csv"),
    path("healthz", healthz),
    path("favicon.ico", favicon),
    path("references/", citations.references_page, name="references"),
    path("patients/", patient_views.patient_list, name="patients"),
    path("patients/new/", patient_views.patient_new, name="patient_new"),
    path("patients/needling-age/", patient_views.needling_age, name="needling_age"),
    path("patients/<int:patient_id>/", patient_views.patient_detail, name="patient"),
    path("patients/<int:patient_id>/edit/", patient_views.patient_edit, name="patient_edit"),
    path("patients/<int:patient_id>/received-records/", patient_views.received_list, name="patient_received_records"),
    path("patients/<int:patient_id>/death/", patient_views.record_death, name="patient_death"),
    path("patients/<int:patient_id>/death/withdraw/", patient_views.withdraw_death, name="patient_death_withdraw"),
    path("patients/<int:patient_id>/record-export/", record_export_view, name="patient_record_export"),
    path("patients/<int:patient_id>/screening/new/", patient_views.screening_new, name="screening_new"),
    path(
        "patients/<int:patient_id>/screening/<int:screening_id>/",
        patient_views.screening_detail,
        name="screening",
    ),
    path("patients/<int:patient_id>/health-change/", patient_views.health_change, name="health_change"),
    path("patients/<int:patient_id>/consent/new/", patient_views.consent_new, name="consent_new"),
    path(
        "patients/<int:patient_id>/consent/<int:consent_id>/withdraw/",
        patient_views.consent_withdraw,
        name="consent_withdraw",
    ),
    path("patients/<int:patient_id>/episodes/new/", patient_views.episode_new, name="episode_new"),
    path("patients/<int:patient_id>/episodes/<int:episode_id>/", patient_views.episode_detail, name="episode"),
    path("api/v1/", api.urls),
    # SMART on FHIR: discovery, OAuth 2.0 (django-oauth-toolkit) and the apps' pages (needlepoint/fhir/smart_*.py)
    path("fhir/R4/.well-known/smart-configuration", smart_server.smart_configuration, name="smart_configuration"),
    path("fhir/.well-known/smart-configuration", smart_server.smart_configuration),
    path("oauth/authorize/", smart_server.AuthorizeView.as_view(), name="oauth_authorize"),
    path("oauth/token/", smart_server.TokenView.as_view(), name="oauth_token"),
    path("oauth/revoke/", smart_server.RevokeView.as_view(), name="oauth_revoke"),
    # OpenID Connect (ID tokens for SMART's openid and fhirUser): discovery at the issuer (the root), its keys, userinfo
    path(".well-known/openid-configuration", smart_server.openid_configuration, name="openid_configuration"),
    path("oauth/jwks/", smart_server.JwksView.as_view(), name="oauth_jwks"),
    path("oauth/userinfo/", smart_server.UserInfoView.as_view(), name="oauth_userinfo"),
    path("clinic/apps/", smart_pages.clinic_apps, name="smart_apps"),
    path("account/apps/", smart_pages.my_apps, name="my_apps"),
    path("patients/<int:patient_id>/launch-app/", smart_server.launch_app, name="launch_app"),
    path("fhir/R4", fhir_views.transaction),  # the base without its slash, as FHIR clients write it
    path("fhir/R4/", include("needlepoint.fhir.urls")),
    re_path(r"^fhir/(?P<path>.*)$", fhir_views.unknown),  # every other /fhir/ address: an OperationOutcome
    # The apps' own pages; the dashboard (visits) is the home page.
    path("", include("needlepoint.visits.urls")),
    path("", include("needlepoint.atlas.urls")),
    path("", include("needlepoint.outcomes.urls")),
    path("", include("needlepoint.insights.urls")),
    path("", include("needlepoint.scheduling.urls")),
]
