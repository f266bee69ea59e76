"""Browser tests: Playwright drives Debian's chromium (never a downloaded browser) against a live server.

Without /usr/bin/chromium these tests skip with a message, except under CI=true where a missing browser
fails the run. Install it with: apt-get install chromium.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import missing_tool

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Playwright's sync API runs an event loop in the test thread; Django's ORM calls there are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


# What the browser refused under the Content-Security-Policy during the running test: chromium reports each refusal
# on the console ("Refused to execute inline script ...", "Refused to apply inline style ..."), and the page's
# securitypolicyviolation event is reported there too. Any of them fails the test: every page must work under it.
CSP_VIOLATIONS: list[str] = []
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("securitypolicyviolation: " + event.violatedDirective + " blocked " + event.blockedURI);
});
"""


def _watch_for_csp_violations(context) -> None:
    """Record every CSP refusal in any page of ``context``."""
    context.add_init_script(REPORT_VIOLATIONS)  # init scripts are the browser's own, not refused by the policy

    def on_console(message) -> None:
        text = message.text
        if (
            text.startswith("Refused to")
            or text.startswith("securitypolicyviolation")
            or "Content Security Policy" in text
        ):
            CSP_VIOLATIONS.append(f"{message.page.url if message.page else '?'}: {text}")

    context.on("console", on_console)


def _fail_on_csp_violations() -> None:
    if CSP_VIOLATIONS:
        found = "\n".join(dict.fromkeys(CSP_VIOLATIONS))
        CSP_VIOLATIONS.clear()
        raise AssertionError(f"the page broke the Content-Security-Policy:\n{found}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield
    _fail_on_csp_violations()
    return result


@pytest.fixture(autouse=True)
def no_csp_violations() -> Iterator[None]:
    """Also the refusals that arrive late, while the test's pages close (this fixture tears down after them)."""
    CSP_VIOLATIONS.clear()
    yield
    _fail_on_csp_violations()


class RequestsInFlight:
    """The live server's WSGI application, serving one request at a time and counting those it is serving.

    On SQLite the server's threads share the test's in-memory database connection (Django shares it; its
    documentation warns against two threads querying through it at once). Two requests served at once (a page's
    parallel fetches), or a request still being served when a test ends (a page closing, a beacon) and the next
    test's flush or fixtures begin, interleave their transactions on that one connection: a COMMIT refused while
    the other thread's statement runs leaves it out of autocommit for every later test of the worker. So requests
    are served one at a time, and each browser test ends only once the server has served the last request it was
    sent (``no_request_in_flight``). A body produced after the application returns (a streamed response) is not
    counted; no browser test opens one.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.serving = 0
        self.changed = threading.Condition()
        self.one_at_a_time = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.changed:
            self.serving += 1
        try:
            with self.one_at_a_time:
                return self.app(environ, start_response)
        finally:
            with self.changed:
                self.serving -= 1
                self.changed.notify_all()

    def wait_until_idle(self, seconds: float = 15.0) -> None:
        """Return once no request is being served; fail after ``seconds``."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.serving == 0, timeout=seconds):
                pytest.fail(f"the live server was still serving {self.serving} request(s) after {seconds:.0f} s")


@pytest.fixture(scope="session")
def requests_in_flight(live_server) -> RequestsInFlight:
    server = live_server.thread.httpd
    counting = RequestsInFlight(server.get_app())
    server.set_app(counting)
    return counting


@pytest.fixture(autouse=True)
def no_request_in_flight(requests_in_flight) -> Iterator[None]:
    """Begin and end each browser test with the live server serving nothing (``RequestsInFlight``); set up
    before the pages a test opens, so torn down after they are closed. A connection left out of autocommit
    fails the test that left it, rather than every later test of the worker."""
    from django.db import connection

    requests_in_flight.wait_until_idle()
    yield
    requests_in_flight.wait_until_idle()
    if not connection.in_atomic_block and not connection.get_autocommit():
        pytest.fail("this test left the shared database connection out of autocommit, outside any transaction")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        missing_tool(f"chromium not found at {CHROMIUM}; install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    # Waits go through expect (Playwright's own isolated script), never wait_for_function: that evaluates its
    # expression in the page, which the Content-Security-Policy refuses (no 'unsafe-eval'). Same patience as a click.
    expect.set_options(timeout=10_000)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        open_context = browser.new_context

        def new_context(*args, **kwargs):
            context = open_context(*args, **kwargs)
            _watch_for_csp_violations(context)
            return context

        # Every context a test opens, through this fixture or its own, reports CSP refusals.
        browser.new_context = new_context
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    # The live server's first page (and its static files) can take longer on a busy machine than a click does.
    context.set_default_navigation_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    # The live server's first page (and its static files) can take longer on a busy machine than a click does.
    context.set_default_navigation_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, username: str, password: str) -> None:
    """Sign in through the real login form."""
    page.goto("/login/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
