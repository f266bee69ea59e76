"""URLs for benchmarks/page_load.py: the product's, plus the floor page that only the benchmark serves.

The floor is what any signed-in page costs at least: every middleware of the product (session, user, clinic
membership, CSP, audit actor) and one indexed SELECT. It lives here, not in the product, so no production
server ever answers it.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from needlepoint.accounts.models import Clinic
from needlepoint.urls import handler403, handler404, handler500  # noqa: F401  the product's error pages
from needlepoint.urls import urlpatterns as product_urls
from needlepoint.visits.dashboard import DASHBOARD
from needlepoint.visits.views import dashboard


def floor(request: HttpRequest) -> HttpResponse:
    """The signed-in user's clinic name, by primary key: one indexed SELECT after the middleware's own."""
    membership = request.membership  # type: ignore[attr-defined]
    name = Clinic.objects.filter(pk=membership.clinic_id).values_list("name", flat=True).first()
    return HttpResponse(f"{name}", content_type="text/plain")


def dashboard_after_a_write(request: HttpRequest) -> HttpResponse:
    """The dashboard as first shown after a write in the clinic: its stored lists are out of date (the write's
    commit ends the clinic's generation, one query, as here), so they are worked out, rendered and stored again."""
    DASHBOARD.end(request.membership.clinic_id)  # type: ignore[attr-defined]
    return dashboard(request)  # type: ignore[arg-type]


urlpatterns = [path("_floor/", floor), path("_dashboard_after_a_write/", dashboard_after_a_write), *product_urls]
