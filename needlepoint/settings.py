"""Needlepoint's one settings module, read from environment variables.

SQLite in ``data/needlepoint.sqlite3`` by default; PostgreSQL when ``DATABASE_URL`` is given.
See README.md, "Running in production", for every variable.
"""

from __future__ import annotations

import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from needlepoint.env import env_bool, env_int, env_list, env_str, env_timezone
from needlepoint.signing_key import oidc_private_key

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
DATA_DIR = Path(env_str("NEEDLEPOINT_DATA_DIR", str(PROJECT_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

# The key that encrypts secrets kept in the database (authenticator apps' TOTP secrets); derived from SECRET_KEY
# when empty. Old keys stay readable as fallbacks, so a key can be changed (needlepoint/accounts/field_crypto.py).
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY")
FIELD_ENCRYPTION_KEY_FALLBACKS = env_list("FIELD_ENCRYPTION_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if not DEBUG else ["*"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Browser apps allowed to call /fhir/ from another origin (CORS), e.g. https://app.example.org; empty = none.
FHIR_CORS_ORIGINS = env_list("FHIR_CORS_ORIGINS", [])
# The largest FHIR transaction Bundle accepted for import, in megabytes: a real patient's bundle (Synthea's largest
# sample in tests/data, 2,298,416 bytes) is close to Django's 2.5 MB request limit, which every other request keeps.
FHIR_TRANSACTION_MAX_MB = env_int("FHIR_TRANSACTION_MAX_MB", 20, minimum=1)
FHIR_TRANSACTION_MAX_BYTES = FHIR_TRANSACTION_MAX_MB * 1024 * 1024

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Only for the API docs page: installed, django-ninja serves Swagger UI from its own static files with no
    # inline script (not from a CDN with one), so /api/v1/docs works under the Content-Security-Policy.
    "ninja",
    "needlepoint.accounts",
    "needlepoint.patients",
    "needlepoint.atlas",
    "needlepoint.visits",
    "needlepoint.outcomes",
    "needlepoint.insights",
    "needlepoint.scheduling",
    "needlepoint.fhir",  # the bulk export jobs, the SMART apps and their authorisations
    # OAuth 2.0 for SMART on FHIR apps (authorization code with PKCE, refresh, revocation): django-oauth-toolkit.
    "oauth2_provider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "needlepoint.fhir.cors.FhirCorsMiddleware",
    "needlepoint.accounts.middleware.NoStoreMiddleware",
    "needlepoint.accounts.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "needlepoint.accounts.middleware.ClinicContextMiddleware",
    "needlepoint.accounts.middleware.LoginRequiredMiddleware",
    "needlepoint.input_guard.InputGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "needlepoint.urls"
WSGI_APPLICATION = "needlepoint.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "needlepoint.accounts.context.clinic_context",
            ],
            # Citation links ({{ text|cite }}, {{ source|cite_source }}) in every template without a load tag.
            "builtins": ["needlepoint.citations"],
        },
    }
]

_default_db = f"sqlite:///{DATA_DIR / 'needlepoint.sqlite3'}"
# A worker keeps its connection for ten minutes (checked before reuse), so the statements it has prepared stay.
DATABASES = {
    "default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=600, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's PostgreSQL backend with a statement of over 65,535 parameters bound on the client (its module says why).
    DATABASES["default"]["ENGINE"] = "needlepoint.operations.postgresql"
    # Most of a page's queries cost PostgreSQL more to plan than to run (a visit with its patient, episode and
    # clinicians: about 2.5 ms planned, 0.3 ms run). With the parameters bound by the server, psycopg prepares a
    # statement the second time a connection runs it, and PostgreSQL then reuses its plan where that is no
    # dearer than planning again (its plan cache decides, per statement). benchmarks/page_load.py measures it.
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": True,
        "prepare_threshold": 1,
        **DATABASES["default"].get("OPTIONS", {}),  # what the URL says (sslmode=…) is kept
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend with a flush that passes the append-only triggers (needlepoint/operations/sqlite).
    DATABASES["default"]["ENGINE"] = "needlepoint.operations.sqlite"
    # Tests use an in-memory database, as Django does for its own SQLite engine name; said outright because
    # tools that key on that name (pytest-django's per-worker databases) would otherwise name a file.
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    # WAL lets readers carry on while a visit is being written; a busy timeout instead of instant errors.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache that every worker process shares and that outlives a restart: the progress page's plots are drawn
# once per change of the plotted data, not once per gunicorn worker (a table in the clinic's own database, so
# nothing leaves it; created by outcomes' migration 0004).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "needlepoint_cache",
        "TIMEOUT": 7 * 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": 200_000, "CULL_FREQUENCY": 4},
    }
}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if env_bool("NEEDLEPOINT_FAST_HASHER", False):
    # Tests create many users; Argon2 stays the hasher everywhere else.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

# Django's validators (the user's names and e-mail, length, its list of 20,000 common passwords) and ours:
# no clinic's or product's name, no season/month plus a number, no run of one or two characters.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "first_name", "last_name", "email")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "needlepoint.accounts.passwords.ContextualPasswordValidator"},
    {"NAME": "needlepoint.accounts.passwords.PredictablePasswordValidator"},
]
# A password-reset link made by a clinic admin works once, for this many seconds.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_HOURS", 24, minimum=1) * 3600

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# Sessions end after this many minutes without a request (each request renews the clock).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 15, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "needlepoint.accounts.views.csrf_failure"

# Sign-in throttling (needlepoint/accounts/throttle.py): password checks per username per window, after which
# each further check waits a doubling delay (no lock: the right password plus an authenticator code passes at
# once); checks per client address per window, after which that address waits for the window to end.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 30, minimum=1)
LOGIN_FAILURE_WINDOW_MINUTES = env_int("LOGIN_FAILURE_WINDOW_MINUTES", 15, minimum=1)
LOGIN_FIRST_DELAY_SECONDS = env_int("LOGIN_FIRST_DELAY_SECONDS", 30, minimum=1)
LOGIN_MAX_DELAY_SECONDS = env_int("LOGIN_MAX_DELAY_SECONDS", 300, minimum=1)
# Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed; from any other
# peer the header is ignored, so a client cannot choose the address it is throttled and audited under.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
# Passkeys (WebAuthn): the relying-party id, normally the clinic's host name (e.g. clinic.example.org); empty
# means the host each request names. Passkeys need HTTPS, or localhost during development.
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID")
# API tokens expire: the default lifetime, and the longest a user may choose (days).
API_TOKEN_DEFAULT_DAYS = env_int("API_TOKEN_DEFAULT_DAYS", 90, minimum=1)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365, minimum=1)

# SMART on FHIR apps (needlepoint/fhir/smart_server.py). Access tokens last an hour (a backend service's five
# minutes, SMART Backend Services), refresh tokens SMART_REFRESH_DAYS; tokens are stored as checksums only.
SMART_ACCESS_TOKEN_SECONDS = env_int("SMART_ACCESS_TOKEN_SECONDS", 3600, minimum=60)
SMART_BACKEND_TOKEN_SECONDS = 300
SMART_REFRESH_DAYS = env_int("SMART_REFRESH_DAYS", 90, minimum=1)
# DOT's models are swappable; naming them lets our models point at them (the migration autodetector needs these).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
# The RSA key that signs OpenID Connect ID tokens (RS256): OIDC_RSA_PRIVATE_KEY (or _FILE) in production; the
# local server (DEBUG) makes one once in DATA_DIR and keeps it; production without one has OpenID Connect off
# (needlepoint/signing_key.py).
OIDC_RSA_PRIVATE_KEY = oidc_private_key(env_str("OIDC_RSA_PRIVATE_KEY"), DATA_DIR, DEBUG)
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": bool(OIDC_RSA_PRIVATE_KEY),  # ID tokens for the openid scope (SMART sso-openid-connect)
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "ID_TOKEN_EXPIRE_SECONDS": SMART_ACCESS_TOKEN_SECONDS,
    "PKCE_REQUIRED": True,  # SMART App Launch 2.0: every app uses PKCE with S256
    "ACCESS_TOKEN_EXPIRE_SECONDS": SMART_ACCESS_TOKEN_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": SMART_REFRESH_DAYS * 86400,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "OAUTH2_VALIDATOR_CLASS": "needlepoint.fhir.smart_server.SmartValidator",
    "SCOPES_BACKEND_CLASS": "needlepoint.fhir.smart_server.SmartScopesBackend",
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,  # tokens in the Authorization header, never the address
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207: the redirect names the issuer
    # Apps' redirect URIs are https; a development server (DEBUG) also takes http (a native app's loopback).
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"] if DEBUG else ["https"],
}

# A screening stays current this many days, unless the patient reports a change in health first.
SCREENING_VALID_DAYS = env_int("SCREENING_VALID_DAYS", 90, minimum=1)

# PostgreSQL's memory per sort or hash while the evidence summary's cells are added up (insights/cells.py): with
# less, the cells by muscle and technique of a million visits sort on disk at about twice the time.
INSIGHTS_CELL_WORK_MEM = env_str("INSIGHTS_CELL_WORK_MEM", "256MB")
if not re.fullmatch(r"\d+(kB|MB|GB)", INSIGHTS_CELL_WORK_MEM):
    raise ImproperlyConfigured(f"INSIGHTS_CELL_WORK_MEM must be a size such as 256MB, not {INSIGHTS_CELL_WORK_MEM!r}")

# A patient's self-report link (questionnaires on a phone, no login) expires after this many days.
SELF_REPORT_LINK_DAYS = env_int("SELF_REPORT_LINK_DAYS", 7, minimum=1)

# Appointment reminders go through Django's mail framework: printed to the console unless an SMTP host is set.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Needlepoint <reminders@localhost>")

# Self-report links also go out by text message through needlepoint.sms (console by default; the file backend
# writes to SMS_FILE_PATH; the HTTP backend posts to SMS_HTTP_URL; docs/production.md).
SMS_BACKEND = env_str("SMS_BACKEND", "needlepoint.sms.ConsoleBackend")
SMS_FILE_PATH = env_str("SMS_FILE_PATH", str(DATA_DIR / "sms"))
SMS_HTTP_URL = env_str("SMS_HTTP_URL")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN")
SMS_SENDER = env_str("SMS_SENDER")
SMS_TIMEOUT = env_int("SMS_TIMEOUT", 30, minimum=1)
# A national number typed without its country code is completed with this one (e.g. +1); empty: refused.
SMS_DEFAULT_COUNTRY_CODE = env_str("SMS_DEFAULT_COUNTRY_CODE")
# The scheme and host short links are built on, e.g. https://np.example; at most 15 characters keeps a short
# link (host, /r/ and a 22-character token) within 40. Empty: the host the page was opened on.
SHORT_LINK_BASE = env_str("SHORT_LINK_BASE").rstrip("/")

LANGUAGE_CODE = "en-us"
# The patient's pages, documents and messages are in the language on the patient's record (Patient.preferred_language),
# activated per request or per message; staff pages stay in LANGUAGE_CODE. The compiled .mo files are committed.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The clinic's clock: every time a page, note or report shows, and every "today", is on it. Times are stored in UTC.
TIME_ZONE = env_timezone("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))

# Behind HTTPS (README, "Running in production"): redirect plain HTTP and tell browsers to use HTTPS only.
# Off by default so a local server on http://127.0.0.1 works; production sets them.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Trusted only when set: a proxy that terminates HTTPS names the header it sets, e.g. X-Forwarded-Proto.
# Without a proxy that always overwrites it, a client could claim HTTPS itself.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# A save of patient data that its action did not record (audit.wrote) is logged as an error and recorded by the
# audit trail's safety net ("record"); the tests set "raise", so such an action fails the test that runs it.
AUDIT_UNRECORDED_WRITES = env_str("AUDIT_UNRECORDED_WRITES", "record")
if AUDIT_UNRECORDED_WRITES not in ("record", "raise"):
    raise ImproperlyConfigured("AUDIT_UNRECORDED_WRITES is record or raise.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
