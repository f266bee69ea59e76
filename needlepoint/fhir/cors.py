"""Cross-origin requests to /fhir/ from the browser apps a clinic allows (``FHIR_CORS_ORIGINS``): the preflight
answered, and each answer naming the origin and the headers a FHIR client reads. Nothing is opened while the
list is empty, and no other address is ever opened.

Credentials are never allowed (no ``Access-Control-Allow-Credentials``): a browser app sends its bearer token,
so another site cannot ride on a signed-in user's session cookie. A small middleware rather than
django-cors-headers: the rules are these few lines and apply to one path.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PREFIX = "/fhir/"
METHODS = "GET, POST, DELETE, OPTIONS"
REQUEST_HEADERS = "Authorization, Content-Type, Accept, Prefer, If-None-Match, If-Modified-Since, If-Match"
# The response headers a FHIR client reads besides the CORS-safelisted ones.
EXPOSED = "Location, Content-Location, ETag, Last-Modified, X-Progress, Retry-After, WWW-Authenticate"
MAX_AGE = "600"


def allowed_origins() -> frozenset[str]:
    """The origins allowed, as the setting lists them (scheme://host[:port], no trailing slash)."""
    return frozenset(o.strip().rstrip("/") for o in getattr(settings, "FHIR_CORS_ORIGINS", ()) if o.strip())


class FhirCorsMiddleware:
    """Adds the CORS headers to /fhir/ answers for an allowed Origin, and answers its preflight (204) itself,
    before sign-in and CSRF checks, which a preflight (sent without credentials) could never pass."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin", "")
        if not request.path.startswith(PREFIX) or origin not in allowed_origins():
            return self.get_response(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = METHODS
            response["Access-Control-Allow-Headers"] = REQUEST_HEADERS
            response["Access-Control-Max-Age"] = MAX_AGE
        else:
            response = self.get_response(request)
            response["Access-Control-Expose-Headers"] = EXPOSED
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = ", ".join(filter(None, [response.get("Vary", ""), "Origin"]))
        return response
