"""A strict Content-Security-Policy (issue 11, item 7) and templates ready for it (issue 15, item 8): every response
carries the policy, and no page has an inline script, a <style> element, a style attribute, an on...= handler or a
javascript: address; data reaches scripts only through json_script blocks and data- attributes.

The pages are walked for each role of the demo clinic, with real ids, as in the audit walk; the sign-in, two-factor
and self-report pages are opened the way their users reach them. The browser suite checks the same policy in a real
browser: any violation reported there fails the test (tests/browser/conftest.py).
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pyotp
import pytest
from django.test import Client
from django.urls import get_resolver
from pypdf import PdfReader

import needlepoint
from needlepoint.accounts.middleware import CONTENT_SECURITY_POLICY
from needlepoint.accounts.models import Membership
from tests.accounts.test_account_life_cycle import reset_link
from tests.accounts.test_audit_every_url import address, walk
from tests.accounts.test_two_factor import enrolled, password_step
from tests.conftest import client_for

STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
DEMO_ROLES = ("pt", "chiro", "desk", "admin")
# Pages for people; the JSON API and FHIR get the header too but hold no markup.
NOT_PAGES = ("api/", "fhir/", "calendar-feed/", "healthz", "favicon.ico", "audit.csv")


class InlineFinder(HTMLParser):
    """Collects what a strict policy refuses: inline scripts, <style>, style=, on...= and javascript: addresses.

    Also an attribute given twice on one tag: the browser keeps the first, so a class added while moving a
    style= into the stylesheet beside an existing class= would silently do nothing.
    """

    def __init__(self, *, rendered: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        # A template's source can give an attribute in both branches of an {% if %}: only rendered pages count.
        self.rendered = rendered

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if self.rendered and len(names) < len(attrs):
            repeated = sorted({n for n, _ in attrs if [m for m, _ in attrs].count(n) > 1})
            self.found.append(f"attribute given twice on <{tag}>: {', '.join(repeated)}")
        if tag == "script" and not names.get("src") and names.get("type") != "application/json":
            self.found.append(f"inline <script {self.get_starttag_text()}>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.found.append(f"style attribute on <{tag}>: {value}")
            if name.startswith("on"):
                self.found.append(f"{name} handler on <{tag}>")
            address = (value or "").strip().lower()
            if name in ("href", "src", "action", "formaction") and address.startswith("javascript:"):
                self.found.append(f"javascript: address on <{tag}>")

    handle_startendtag = handle_starttag


def inline_content(html: str, *, rendered: bool = True) -> list[str]:
    """Everything in ``html`` that the strict policy would refuse to run or apply."""
    finder = InlineFinder(rendered=rendered)
    finder.feed(html)
    finder.close()
    return finder.found


def problems(url: str, response) -> list[str]:
    """What is wrong with one response: a missing or loose policy, or markup the policy refuses."""
    found = []
    if response.get("Content-Type", "").startswith("application/pdf"):
        return found  # PDFs carry no policy: Chrome's PDF viewer breaks under one (see the middleware)
    if response.get("Content-Security-Policy") != STRICT:
        found.append(f"{url}: policy {response.get('Content-Security-Policy')!r}")
    if response.get("Content-Type", "").startswith("text/html"):
        found += [f"{url}: {problem}" for problem in inline_content(response.content.decode())]
    return found


def test_the_policy_is_the_strict_one() -> None:
    assert CONTENT_SECURITY_POLICY == STRICT
    assert "unsafe" not in STRICT


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<script type="text/javascript">x()</script>',
        "<style>p { color: red }</style>",
        '<p style="color: red">x</p>',
        '<svg><path style="fill: #fff"/></svg>',
        '<button onclick="window.print()">Print</button>',
        '<body onload="go()">',
        '<a href="javascript:go()">go</a>',
        '<section class="card" data-testid="today" class="full-row"></section>',
    ],
)
def test_the_checker_finds_each_kind_of_inline_content(html) -> None:
    assert inline_content(html) != []


def test_the_checker_allows_files_json_data_and_data_attributes() -> None:
    html = (
        '<script src="/static/js/visit.js" defer></script>'
        '<script type="application/json" id="muscle-data">{"a": "</p>"}</script>'
        '<link rel="stylesheet" href="/static/css/app.css">'
        '<button type="button" data-print>Print</button><svg><path fill="#fff" stroke="#000"/></svg>'
    )

    assert inline_content(html) == []


TEMPLATES = Path(needlepoint.__file__).parent / "templates"
DJANGO_COMMENT = re.compile(r"{#.*?#}|{% comment %}.*?{% endcomment %}", re.S)


def test_no_template_has_inline_script_style_or_handler() -> None:
    """Also the fragments htmx swaps in and the printed documents, whatever the walk happens to reach."""
    wrong = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        source = DJANGO_COMMENT.sub("", template.read_text())
        wrong += [f"{template.relative_to(TEMPLATES)}: {problem}" for problem in inline_content(source, rendered=False)]

    assert wrong == [], "\n".join(wrong)


def page_routes() -> list[str]:
    routes = dict.fromkeys(walk(get_resolver().url_patterns))
    return [r for r in routes if not r.startswith(NOT_PAGES) and not r.endswith(".pdf")]  # PDFs: test below


# The main pages, each with a role that may open it: the walk must really have shown them, not a refusal.
MAIN_PAGES = {
    "": "pt",  # dashboard
    "patients/": "desk",
    "patients/<int:patient_id>/": "pt",
    "visits/<int:visit_id>/": "pt",
    "atlas/": "chiro",
    "atlas/assessments/<int:assessment_id>/": "pt",  # pain drawing
    "atlas/episodes/<int:episode_id>/assessments/new/": "pt",  # pain drawing editor
    "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/": "pt",  # progress plots
    "insights/": "admin",  # evidence
    "schedule/": "desk",
    "audit/": "admin",
    "staff/": "admin",
    "account/security/": "desk",
    "p/<str:token>/": "pt",  # the patient's self-report page, opened signed out
}


def test_every_page_of_every_role_carries_the_policy_and_nothing_inline(demo) -> None:
    clinic = demo["clinician"].clinic
    wrong: list[str] = []
    shown = set()
    for username in DEMO_ROLES:
        client = Client()
        client.force_login(Membership.objects.get(clinic=clinic, user__username=username).user)
        for route in page_routes():
            url = address(route, demo)
            response = (Client() if route.startswith("p/") else client).get(url)
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                shown.add((route, username))
            wrong += problems(url, response)

    assert wrong == [], "\n".join(wrong)
    assert set(MAIN_PAGES.items()) - shown == set()


def test_the_api_fhir_and_error_responses_carry_the_policy_too(demo) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {demo['api']}")
    patient_id = demo["ids"]["patient_id"]
    for url in ("/api/v1/me", "/api/v1/openapi.json", f"/fhir/R4/Patient/{patient_id}", "/api/v1/nowhere"):
        assert client.get(url)["Content-Security-Policy"] == STRICT, url
    signed_in = Client()
    signed_in.force_login(demo["clinician"].user)

    assert problems("/no-such-page/", signed_in.get("/no-such-page/")) == []


def test_a_pdf_is_sent_without_the_policy_that_would_break_the_browser_viewer(demo) -> None:
    client = Client()
    client.force_login(demo["clinician"].user)

    response = client.get(f"/visits/{demo['ids']['visit_id']}/note.pdf")

    assert response["Content-Type"] == "application/pdf"
    assert "Content-Security-Policy" not in response
    assert response["X-Frame-Options"] == "DENY"
    # Laid out by the documents' stylesheet, now a file and not a <style> element: its page footer is there.
    first_page = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert re.search(r"Page 1 of \d", first_page), first_page


def test_the_api_docs_load_their_assets_from_this_server(demo) -> None:
    client = Client()
    client.force_login(demo["clinician"].user)

    response = client.get("/api/v1/docs")

    html = response.content.decode()
    assert response.status_code == 200
    assert problems("/api/v1/docs", response) == []
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []  # nothing from a CDN
    assert "swagger-ui-bundle.js" in html


def test_the_sign_in_and_two_factor_pages_have_nothing_inline(clinic_admin) -> None:
    client = Client()
    wrong = problems("/login/", client.get("/login/"))

    assert password_step(client, "adam")["Location"] == "/login/enrol/"
    wrong += problems("/login/enrol/", client.get("/login/enrol/"))
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', client.get("/login/enrol/").content.decode())
    codes = client.post("/login/enrol/", {"code": pyotp.TOTP(secret.group(1)).now()})
    wrong += problems("/login/enrol/ (recovery codes)", codes)
    wrong += problems("/account/security/", client.get("/account/security/"))

    assert wrong == [], "\n".join(wrong)


def test_the_code_step_and_the_password_reset_page_have_nothing_inline(clinic_admin, clinician) -> None:
    reset = reset_link(client_for(clinic_admin), clinician)
    enrolled(clinic_admin)
    client = Client()

    assert password_step(client, "adam")["Location"] == "/login/code/"
    wrong = problems("/login/code/", client.get("/login/code/"))
    page = Client().get(reset)
    wrong += problems(reset, page)

    assert page.status_code == 200
    assert wrong == [], "\n".join(wrong)


def test_htmx_fragments_have_nothing_inline(demo) -> None:
    client = Client()
    client.force_login(demo["clinician"].user)

    found = client.post("/patients/", {"q": "a", "from": "header"}, HTTP_HX_REQUEST="true")

    assert found.status_code == 200
    assert problems("/patients/ (header search)", found) == []
