"""Sixteen clinicians working at once against gunicorn and PostgreSQL: per-page latency, errors, lost writes.

    .venv/bin/python benchmarks/clinic_load.py                       # 16 clinicians, 10 minutes
    .venv/bin/python benchmarks/clinic_load.py --minutes 1 --clinicians 4 --patients 120

It makes its own PostgreSQL database (``np_load_<pid>`` on --server, dropped at the end unless --keep),
migrates it, builds the demo clinic with --patients patients and adds clinicians until there are --clinicians of
them, then creates an application role with only the privileges ``needlepoint db grants`` gives (as
docs/production.md sets up) and serves the product with gunicorn as that role: DEBUG off, the documented
``--workers 4 --timeout 60``, Argon2 passwords, the audit chain, sessions in the database. Plain HTTP on the
loopback stands in for the HTTPS reverse proxy, so secure cookies and the HTTPS redirect are off.

Each simulated clinician is a thread with its own cookie session and real HTTP requests. It signs in, then
repeats one patient's visit: dashboard, patient search (POST), the patient and episode pages, start a visit, the
visit page, save the details, add two or three needling entries (acknowledging any warning the page asks for),
count the needles out, sign, read the signed note; every third visit (from the second) it also sends a
self-report link, which a patient (a separate session without a sign-in) opens and submits; then it reads the
episode's progress page.
Between requests it pauses --think seconds on average (uniformly 0.5x to 1.5x), a clinician reading a page.

Every response is timed (first byte sent to last byte read). An error is a 5xx, a 4xx the flow did not expect,
a connection failure, or a page that refused a write the flow expected to succeed. At the end every write the
server acknowledged (visits with their details, needling entries, counts and signature; self-reports with their
answers) is read back through the ORM and compared field by field; a difference is a lost write.
"""

from __future__ import annotations

import argparse
import html
import http.cookiejar
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "needlepoint-demo"  # needlepoint.demo.DEMO_PASSWORD; the extra clinicians get it too
WORKERS = 4  # docs/production.md's unit file
TIMEOUT = 60
# Low-hazard muscles with the trigger point each needs (the visit tests' choice); one side per visit.
MUSCLES = (("infraspinatus", "TP1"), ("deltoid", "middle"), ("teres-minor", ""))
PAGES = (
    "sign in",
    "dashboard",
    "patient search",
    "patient page",
    "episode page",
    "start visit",
    "visit page",
    "save details",
    "add needling entry",
    "acknowledge warnings",
    "needle counts",
    "sign visit",
    "signed note",
    "self-report link",
    "self-report page",
    "self-report submit",
    "progress page",
)


# --- the database, the clinic and the server -------------------------------------------------------------


def _environment(database_url: str, data_dir: str, secret: str) -> dict[str, str]:
    """The server's settings: production's (docs/production.md, section 3) with loopback HTTP in place of HTTPS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DJANGO_"))}
    env |= {
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": "http://127.0.0.1",
        "NEEDLEPOINT_DATA_DIR": data_dir,
        "SECURE_COOKIES": "0",  # plain HTTP on the loopback; behind the proxy production keeps them secure
        "TIME_ZONE": "America/New_York",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "needlepoint.settings",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("NEEDLEPOINT_FAST_HASHER", None)
    return env


def _admin_sql(server: str, statements: list[str]) -> None:
    """Run statements on the server's maintenance database (CREATE/DROP DATABASE and roles)."""
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def _build(patients: int, clinicians: int) -> dict[str, Any]:
    """Migrate, build the demo clinic, add clinicians; returns the sizes. Runs in this process (the owner)."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from needlepoint.demo import build_demo

    context = build_demo(patients=patients, seed=2024)
    from needlepoint.patients.demo import _ensure_user

    for n in range(3, clinicians + 1):  # the demo has two clinicians: pt and chiro
        spec = {
            "username": f"clinician{n:02d}",
            "first": "Load",
            "last": f"Clinician {n:02d}",
            "role": "clinician",
            "profession": "physical_therapist",
            "licence": f"PT-9{n:04d}",
        }
        _ensure_user(context.clinic, spec)
    return _sizes()


def _sizes() -> dict[str, int]:
    from needlepoint.accounts.models import AuditEntry, Membership
    from needlepoint.outcomes.models import Observation
    from needlepoint.patients.models import Episode, Patient
    from needlepoint.visits.models import NeedlingEntry, Visit

    return {
        "clinicians": Membership.objects.filter(clinic__slug="demo", role="clinician").count(),
        "patients": Patient.objects.filter(clinic__slug="demo").count(),
        "open episodes": Episode.objects.filter(clinic__slug="demo", status="open").count(),
        "visits": Visit.objects.count(),
        "needling entries": NeedlingEntry.objects.count(),
        "observations": Observation.objects.count(),
        "audit entries": AuditEntry.objects.count(),
    }


@dataclass
class Assignment:
    """The patients one simulated clinician treats (each patient belongs to one clinician, so no two visits of
    a patient are open at once)."""

    username: str
    patients: list[dict[str, Any]] = field(default_factory=list)


def _assign(clinicians: int) -> list[Assignment]:
    """Patients cleared for needling with exactly one open episode and no unsigned visit, dealt out in turn."""
    from needlepoint.accounts.models import Membership
    from needlepoint.patients.gate import needling_clearance
    from needlepoint.patients.models import Episode
    from needlepoint.visits.models import Visit

    members = list(
        Membership.objects.filter(clinic__slug="demo", role="clinician").order_by("pk").select_related("user")
    )[:clinicians]
    assignments = [Assignment(m.user.username) for m in members]
    unsigned = set(Visit.objects.filter(signed_at__isnull=True).values_list("patient_id", flat=True))
    episodes = Episode.objects.filter(clinic__slug="demo", status="open").select_related("patient").order_by("pk")
    counted: dict[int, int] = defaultdict(int)
    for episode in episodes:
        counted[episode.patient_id] += 1
    n = 0
    for episode in episodes:
        patient = episode.patient
        if counted[patient.pk] != 1 or patient.pk in unsigned or not needling_clearance(patient).allowed:
            continue
        assignments[n % len(assignments)].patients.append(
            {"id": patient.pk, "episode": episode.pk, "family": patient.family_name}
        )
        n += 1
    if any(not a.patients for a in assignments):
        raise SystemExit("not enough patients cleared for needling: build a larger clinic with --patients")
    return assignments


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """gunicorn as in docs/production.md's unit file, on a free loopback port; waits until it answers."""
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    command = [sys.executable, "-m", "gunicorn", "needlepoint.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(WORKERS), "--timeout", str(TIMEOUT)]
    command += ["--no-control-socket"]  # its default path is shared by every gunicorn on the machine
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn stopped:\n" + log_path.read_text()[-3000:])
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 300 s:\n" + log_path.read_text()[-3000:])


# --- HTTP sessions ---------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # each page is timed on its own; the flow follows redirects itself


@dataclass
class Answer:
    """One response: status, headers and body text."""

    status: int
    headers: Any
    text: str


class Recorder:
    """Timings per page, errors and acknowledged writes, shared by all the clinicians' threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.visits: list[dict[str, Any]] = []
        self.self_reports: list[dict[str, Any]] = []

    def time(self, page: str, ms: float) -> None:
        with self.lock:
            self.timings[page].append(ms)

    def error(self, page: str, what: str) -> None:
        with self.lock:
            self.errors[page].append(what)


class Refused(Exception):
    """The server answered, but not as the flow expected (an error: counted, and the flow starts over)."""


class Session:
    """A browser's cookies over real HTTP; every request is timed under a page name."""

    def __init__(self, base: str, recorder: Recorder) -> None:
        self.base = base
        self.recorder = recorder
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect)

    def csrf(self) -> str:
        return next((c.value for c in self.cookies if c.name == "csrftoken"), "")

    def request(
        self,
        page: str,
        path: str,
        data: dict[str, Any] | list[tuple[str, Any]] | None = None,
        htmx: bool = False,
        expect: tuple[int, ...] = (200,),
    ) -> Answer:
        """GET (or POST ``data``) ``path``; a status outside ``expect`` is recorded as an error and raised."""
        body = None
        headers = {"User-Agent": "needlepoint-load/1"}
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": self.csrf()}
            headers["Referer"] = self.base + path
        if htmx:
            headers["HX-Request"] = "true"
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=TIMEOUT + 10) as response:
                answer = Answer(response.status, response.headers, response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            answer = Answer(exc.code, exc.headers, exc.read().decode("utf-8", "replace"))
        except OSError as exc:
            self.recorder.time(page, (time.perf_counter() - started) * 1000)
            self.recorder.error(page, f"connection: {exc}")
            raise Refused(page) from exc
        self.recorder.time(page, (time.perf_counter() - started) * 1000)
        if answer.status not in expect:
            self.recorder.error(page, f"HTTP {answer.status} on {_shape(path)}")
            raise Refused(page)
        return answer


def _shape(path: str) -> str:
    """A path with its ids and tokens replaced, so errors group by page."""
    return re.sub(r"/p/[^/]+/", "/p/<token>/", re.sub(r"/\d+", "/<id>", path))


def _value(text: str, pattern: str, page: str, recorder: Recorder) -> str:
    found = re.search(pattern, text)
    if found is None:
        recorder.error(page, f"page lacks {pattern!r}")
        raise Refused(page)
    return html.unescape(found.group(1))


# --- one clinician's day ----------------------------------------------------------------------------------


class Clinician(threading.Thread):
    """One clinician working through their patients' visits until the end time."""

    def __init__(self, base: str, assignment: Assignment, recorder: Recorder, ends: float, think: float) -> None:
        super().__init__(name=assignment.username, daemon=True)
        self.base, self.assignment, self.recorder, self.ends, self.think = base, assignment, recorder, ends, think
        self.rng = random.Random(assignment.username)
        self.session = Session(base, recorder)
        self.visits_done = 0

    def pause(self) -> None:
        time.sleep(self.think * self.rng.uniform(0.5, 1.5))

    def run(self) -> None:
        signed_in = False
        n = 0
        while time.monotonic() < self.ends:
            patient = self.assignment.patients[n % len(self.assignment.patients)]
            n += 1
            try:
                if not signed_in:
                    self.sign_in()
                    signed_in = True
                self.one_visit(patient, self_report=n % 3 == 2)  # the 2nd, 5th, 8th … visit
            except Refused:
                # Start again from a fresh sign-in, as a clinician would after an error page.
                self.session = Session(self.base, self.recorder)
                signed_in = False
                self.pause()

    def get(self, page: str, path: str, **kw: Any) -> Answer:
        answer = self.session.request(page, path, **kw)
        self.pause()
        return answer

    def post(self, page: str, path: str, data: Any, **kw: Any) -> Answer:
        answer = self.session.request(page, path, data, **kw)
        self.pause()
        return answer

    def sign_in(self) -> None:
        self.session.request("sign in", "/login/")  # sets the CSRF cookie
        form = {"username": self.assignment.username, "password": PASSWORD}
        answer = self.post("sign in", "/login/", form, expect=(302,))
        if answer.headers.get("Location") != "/":
            self.recorder.error("sign in", f"sign-in went to {answer.headers.get('Location')}")
            raise Refused("sign in")

    def one_visit(self, patient: dict[str, Any], self_report: bool) -> None:
        pid, eid = patient["id"], patient["episode"]
        self.get("dashboard", "/")
        found = self.post("patient search", "/patients/", {"q": patient["family"]})
        if f"/patients/{pid}/" not in found.text:
            self.recorder.error("patient search", "the patient is not among the results")
            raise Refused("patient search")
        self.get("patient page", f"/patients/{pid}/")
        self.get("episode page", f"/patients/{pid}/episodes/{eid}/")
        started = self.post("start visit", f"/episodes/{eid}/visits/new/", {}, expect=(302,))
        location = started.headers.get("Location", "")
        if not re.fullmatch(r"/visits/\d+/", location):
            self.recorder.error("start visit", f"start went to {_shape(location)}")
            raise Refused("start visit")
        vid = int(location.split("/")[2])
        record: dict[str, Any] = {"visit": vid, "clinician": self.assignment.username, "patient": pid, "done": []}
        with self.recorder.lock:
            self.recorder.visits.append(record)
        record["done"].append("started")
        page = self.get("visit page", location).text
        version = int(_value(page, r'id="visit-version" value="(\d+)"', "visit page", self.recorder))
        started_at = _value(page, r'name="started_at" value="([^"]+)"', "visit page", self.recorder)
        version = self.save_details(record, vid, version, started_at)
        version = self.add_entries(record, vid, version)
        version = self.count_needles(record, vid, version)
        self.sign(record, vid, version)
        self.get("signed note", location)
        if self_report:
            self.self_report(pid, eid)
        self.get("progress page", f"/patients/{pid}/episodes/{eid}/outcomes/")
        self.visits_done += 1

    def _saved(self, page: str, answer: Answer, message: str) -> int:
        """The new version from an htmx answer that says ``message``; anything else is a refused write."""
        if message not in answer.text:
            problem = re.search(r'class="errorlist[^"]*"[^>]*>\s*<li>([^<]+)', answer.text)
            self.recorder.error(page, f"not saved: {problem.group(1).strip() if problem else 'no message'}")
            raise Refused(page)
        return int(_value(answer.text, r'id="visit-version" value="(\d+)"', page, self.recorder))

    def save_details(self, record: dict[str, Any], vid: int, version: int, started_at: str) -> int:
        details = {
            "pain_before": self.rng.randint(4, 8),
            "pain_after": self.rng.randint(1, 4),
            "subjective": f"Neck ache since the weekend, worse at the desk ({secrets.token_hex(4)}).",
            "assessment": f"Active trigger points, shoulder girdle ({secrets.token_hex(4)}).",
            "plan": "Review in one week; home stretches.",
        }
        form = {"version": version, "started_at": started_at, **details}
        answer = self.post("save details", f"/visits/{vid}/details/", form, htmx=True)
        version = self._saved("save details", answer, "Visit details saved.")
        record["details"] = details
        record["done"].append("details")
        return version

    def add_entries(self, record: dict[str, Any], vid: int, version: int) -> int:
        side = self.rng.choice(("left", "right"))
        entries = []
        path = f"/visits/{vid}/needling/"
        for muscle, point in MUSCLES[: self.rng.choice((2, 3))]:
            entry = {
                "muscle_id": muscle,
                "side": side,
                "trigger_point": point,
                "needles": self.rng.randint(1, 3),
                "diameter_mm": "0.25",
                "length_mm": "30",
                "technique": "pistoning",
                "twitch_response": "single",
                "minutes_left_in": "",
                "patient_response": f"Familiar pain reproduced ({secrets.token_hex(4)})",
            }
            answer = self.post("add needling entry", path, entry | {"version": version}, htmx=True)
            acks = _acknowledgements(answer.text)
            if acks and "Needling entry added." not in answer.text:
                form = [*(entry | {"version": version}).items(), *acks]
                answer = self.post("acknowledge warnings", path, form, htmx=True)
            version = self._saved("add needling entry", answer, "Needling entry added.")
            entries.append(entry)
            record["entries"] = list(entries)
        record["done"].append("entries")
        return version

    def count_needles(self, record: dict[str, Any], vid: int, version: int) -> int:
        total = sum(e["needles"] for e in record["entries"])
        counts = {"opened": total, "removed": total, "in_sharps": total}
        answer = self.post("needle counts", f"/visits/{vid}/needle-counts/", counts | {"version": version}, htmx=True)
        version = self._saved("needle counts", answer, "Needle counts saved.")
        record["counts"] = counts
        record["done"].append("counts")
        return version

    def sign(self, record: dict[str, Any], vid: int, version: int) -> None:
        text = {k: record["details"][k] for k in ("subjective", "assessment", "plan")}
        form: list[tuple[str, Any]] = [("version", version), *text.items()]
        answer = self.post("sign visit", f"/visits/{vid}/sign/", form, htmx=True, expect=(200, 204))
        if answer.status == 200 and _acknowledgements(answer.text):
            form += _acknowledgements(answer.text)
            answer = self.post("acknowledge warnings", f"/visits/{vid}/sign/", form, htmx=True, expect=(200, 204))
        if answer.status != 204 or answer.headers.get("HX-Redirect") != f"/visits/{vid}/":
            self.recorder.error("sign visit", "the visit was not signed")
            raise Refused("sign visit")
        record["done"].append("signed")

    def self_report(self, pid: int, eid: int) -> None:
        """Send a self-report link; the patient opens it on their phone (no sign-in) and answers."""
        path = f"/patients/{pid}/self-report-link/"
        form_page = self.get("self-report link", path).text
        chosen = r'(?s)name="time_point"[^>]*>.*?<option value="([^"]+)" selected'
        time_point = _value(form_page, chosen, "self-report link", self.recorder)
        days = _value(form_page, r'name="days"[^>]*value="(\d+)"', "self-report link", self.recorder)
        # The demo clinic has entered no licensed wording: the link carries what ships (pain, drawing, PSFS …).
        form = {"episode": eid, "time_point": time_point, "days": days, "readable_only": "on"}
        sent = self.post("self-report link", path, form).text
        url = _value(sent, r'(http://127\.0\.0\.1:\d+/p/[^/"<\s]+/)', "self-report link", self.recorder)
        link_path = urllib.parse.urlparse(url).path
        phone = Session(self.base, self.recorder)
        page = phone.request("self-report page", link_path).text
        answers = _fill_questionnaire(page, self.rng)
        thanks = phone.request("self-report submit", link_path, list(answers.items()))
        if "Thank you" not in thanks.text:
            problem = re.search(r'class="errorlist[^"]*"[^>]*>\s*<li>([^<]+)', thanks.text)
            self.recorder.error("self-report submit", f"not saved: {problem.group(1) if problem else 'no message'}")
            raise Refused("self-report submit")
        with self.recorder.lock:
            self.recorder.self_reports.append({"token": link_path.split("/")[2], "answers": answers, "patient": pid})


def _acknowledgements(text: str) -> list[tuple[str, str]]:
    """For every warning the page asks about: each precaution offered (``ackp:KEY``) and a reason (``ack:KEY``)."""
    given: list[tuple[str, str]] = []
    for key in dict.fromkeys(re.findall(r'name="ack:([^"]+)"', text)):
        given.append((f"ack:{html.unescape(key)}", "Reviewed the precaution with the patient; proceeding."))
    for key, value in re.findall(r'name="ackp:([^"]+)"[^>]*value="([^"]+)"', text):
        given.append((f"ackp:{html.unescape(key)}", html.unescape(value)))
    return given


def _fill_questionnaire(page: str, rng: random.Random) -> dict[str, str]:
    """A patient's answers: one choice per radio group and select, a number in each number field."""
    form = page[page.find("<form") :]
    answers: dict[str, str] = {}
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    if csrf:
        answers["csrfmiddlewaretoken"] = csrf.group(1)
    radios: dict[str, list[str]] = defaultdict(list)
    for tag in re.findall(r"<input[^>]+>", form):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name or name.group(1) == "csrfmiddlewaretoken":
            continue
        if kind and kind.group(1) == "radio" and value:
            radios[name.group(1)].append(html.unescape(value.group(1)))
        elif kind and kind.group(1) == "number":
            low = re.search(r'min="([\d.]+)"', tag)
            high = re.search(r'max="([\d.]+)"', tag)
            answers[name.group(1)] = str(
                rng.randint(int(float(low.group(1))) if low else 0, int(float(high.group(1))) if high else 10)
            )
    for name, values in radios.items():
        answers[name] = rng.choice(values)
    for name, options in re.findall(r'<select[^>]+name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        values = [v for v in re.findall(r'<option value="([^"]*)"', options) if v]
        if values:
            answers[name] = rng.choice(values)
    return answers


# --- lost writes: every acknowledged write read back through the ORM ----------------------------------------


def _lost_writes(recorder: Recorder) -> tuple[int, list[str], int]:
    """(writes checked, what differs, writes stored that were never acknowledged)."""
    from django.core import signing

    from needlepoint.atlas.catalogue import find_muscle, trigger_point_of
    from needlepoint.outcomes.actions import LINK_SALT
    from needlepoint.outcomes.models import Observation, SelfReportLink
    from needlepoint.visits.models import Visit

    checked, lost, unacknowledged = 0, [], 0
    for record in recorder.visits:
        visit = Visit.objects.select_related("clinician__user", "signed_by__user").filter(pk=record["visit"]).first()
        checked += 1
        if (
            visit is None
            or visit.clinician.user.username != record["clinician"]
            or visit.patient_id != record["patient"]
        ):
            lost.append(f"visit {record['visit']}: not stored as started")
            continue
        if "details" in record:
            checked += 1
            for name, value in record["details"].items():
                if getattr(visit, name) != value:
                    lost.append(f"visit {visit.pk}: {name} is {getattr(visit, name)!r}, acknowledged {value!r}")
        stored = list(
            visit.needling_entries.order_by("position", "pk").values_list(
                "muscle_id", "side", "trigger_point", "needles", "patient_response"
            )
        )
        # A blank trigger point is stored as the muscle's only one (atlas.catalogue.trigger_point_of, the rule the
        # form and the API share), so the acknowledged entry is compared through the same rule.
        given = [
            (
                e["muscle_id"],
                e["side"],
                trigger_point_of(find_muscle(e["muscle_id"]), e["trigger_point"]),
                e["needles"],
                e["patient_response"],
            )
            for e in record.get("entries", [])
        ]
        checked += len(given)
        if stored[: len(given)] != given:
            lost.append(f"visit {visit.pk}: needling entries {stored}, acknowledged {given}")
        unacknowledged += max(0, len(stored) - len(given))
        if "counts" in record:
            checked += 1
            have = {
                "opened": visit.needles_opened,
                "removed": visit.needles_removed,
                "in_sharps": visit.needles_in_sharps,
            }
            if have != record["counts"]:
                lost.append(f"visit {visit.pk}: needle counts {have}, acknowledged {record['counts']}")
        if "signed" in record["done"]:
            checked += 1
            if visit.signed_at is None or visit.signed_by.user.username != record["clinician"]:
                lost.append(f"visit {visit.pk}: acknowledged as signed, stored unsigned")
    for report in recorder.self_reports:
        checked += 1
        # The token is a signed payload naming the link and its secret; the link stores the secret's hash.
        payload = signing.loads(report["token"], salt=LINK_SALT)
        link = SelfReportLink.objects.filter(
            pk=payload["l"], token_hash=SelfReportLink.hash_token(payload["s"])
        ).first()
        if link is None or link.used_at is None or link.patient_id != report["patient"]:
            lost.append(f"self-report link for patient {report['patient']}: not stored as used")
            continue
        observed = {o.instrument: o.answers for o in Observation.objects.filter(self_report_link=link)}
        for name, value in report["answers"].items():
            if name == "csrfmiddlewaretoken" or "-" not in name:
                continue
            code, item = name.split("-", 1)
            stored_value = observed.get(code, {}).get(item)
            if stored_value is None or float(stored_value) != float(value):
                lost.append(f"self-report link {link.pk}: {name} stored {stored_value!r}, submitted {value!r}")
    return checked, lost, unacknowledged


# --- the report -------------------------------------------------------------------------------------------


def _percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def _report(recorder: Recorder, seconds: float, loads: list[tuple[float, float, float]]) -> int:
    print(f"\n{'page':<22}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    total_requests = 0
    total_errors = sum(len(problems) for problems in recorder.errors.values())
    for page in PAGES:
        timings = sorted(recorder.timings.get(page, []))
        errors = len(recorder.errors.get(page, []))
        if not timings:
            continue
        total_requests += len(timings)
        print(
            f"{page:<22}{len(timings):>9}{statistics.median(timings):>9.0f}{_percentile(timings, 0.95):>9.0f}"
            f"{_percentile(timings, 0.99):>9.0f}{timings[-1]:>9.0f}{errors:>8}"
        )
    everything = sorted(t for values in recorder.timings.values() for t in values)
    print(
        f"{'all requests':<22}{total_requests:>9}{statistics.median(everything):>9.0f}"
        f"{_percentile(everything, 0.95):>9.0f}{_percentile(everything, 0.99):>9.0f}{everything[-1]:>9.0f}"
        f"{total_errors:>8}"
    )
    print(
        f"\nthroughput: {total_requests / seconds:.1f} requests/s over {seconds / 60:.1f} min "
        "(no visit starts after the set time; those under way are finished)"
    )
    for page, problems in recorder.errors.items():
        for problem, count in sorted(((p, problems.count(p)) for p in set(problems)), key=lambda x: -x[1])[:5]:
            print(f"  error on {page}: {problem} (x{count})")
    if loads:
        ones = [one for one, _, _ in loads]
        print(
            f"machine load average (1 min, sampled every 10 s): median {statistics.median(ones):.2f}, "
            f"max {max(ones):.2f}, on {os.cpu_count()} cores"
        )
    return total_errors


def _sample_load(loads: list[tuple[float, float, float]], stop: threading.Event) -> None:
    while not stop.wait(10):
        loads.append(os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the clinicians work (default 10)")
    parser.add_argument("--clinicians", type=int, default=16, help="simulated clinicians (default 16)")
    parser.add_argument("--patients", type=int, default=400, help="patients in the demo clinic (default 400)")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between requests, s (default 1.0)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--keep", action="store_true", help="keep the database and the role afterwards")
    args = parser.parse_args()

    name = f"np_load_{os.getpid()}"
    app_role = f"{name}_app"
    data_dir = tempfile.mkdtemp(prefix="needlepoint-load-")
    owner_env = _environment(f"{args.server}/{name}", data_dir, secrets.token_urlsafe(40))
    app_server = args.server.replace("://postgres@", f"://{app_role}@", 1)
    app_env = owner_env | {"DATABASE_URL": f"{app_server}/{name}"}
    _admin_sql(args.server, [f'CREATE DATABASE "{name}"', f'CREATE ROLE "{app_role}" LOGIN'])
    server = None
    try:
        os.environ.update(owner_env)
        sys.path.insert(0, str(ROOT))
        started = time.perf_counter()
        print(f"building database {name}: migrate, demo clinic of {args.patients} patients …", flush=True)
        before = _build(args.patients, args.clinicians)
        import psycopg

        from needlepoint.accounts.dbroles import grant_statements

        with psycopg.connect(f"{args.server}/{name}", autocommit=True) as connection:
            for statement in grant_statements(app_role, name):
                connection.execute(statement)
        assignments = _assign(args.clinicians)
        from django.db import connections

        connections.close_all()
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)

        port = _free_port()
        server = _serve(app_env, port, Path(data_dir) / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        recorder = Recorder()
        loads: list[tuple[float, float, float]] = [os.getloadavg()]
        stop = threading.Event()
        threading.Thread(target=_sample_load, args=(loads, stop), daemon=True).start()
        # New visits start until the time is up; the visits under way then are finished (and counted).
        print(f"{len(assignments)} clinicians working for {args.minutes:g} min …", flush=True)
        began = time.monotonic()
        ends = began + args.minutes * 60
        clinicians = [Clinician(base, a, recorder, ends, args.think) for a in assignments]
        for clinician in clinicians:
            clinician.start()
            time.sleep(args.think / len(clinicians))  # staggered, not sixteen sign-ins in one instant
        for clinician in clinicians:
            clinician.join(timeout=args.minutes * 60 + 600)
        seconds = time.monotonic() - began
        stop.set()
        server.terminate()
        server.wait(timeout=60)
        server = None

        after = _sizes()
        checked, lost, unacknowledged = _lost_writes(recorder)
        print(
            "\nsettings: gunicorn needlepoint.wsgi "
            f"--workers {WORKERS} --timeout {TIMEOUT} (sync workers); DEBUG off; PostgreSQL "
            f"{_server_version(args.server)} as an application role with `needlepoint db grants` privileges; "
            "Argon2 passwords; database sessions; audit chain on; plain HTTP on the loopback (no TLS, "
            f"SECURE_COOKIES=0); client: {len(assignments)} threads, urllib, think time {args.think:g} s "
            "(0.5x-1.5x) between requests"
        )
        print("sizes before: " + ", ".join(f"{v:,} {k}" for k, v in before.items()))
        print("sizes after:  " + ", ".join(f"{v:,} {k}" for k, v in after.items()))
        visits = sum(c.visits_done for c in clinicians)
        print(
            f"visits completed: {visits} (signed, {sum(len(r.get('entries', [])) for r in recorder.visits)} "
            f"needling entries), self-reports submitted: {len(recorder.self_reports)}"
        )
        errors = _report(recorder, seconds, loads)
        print(f"\nerrors: {errors}")
        print(f"lost writes: {len(lost)} (of {checked} acknowledged writes read back through the ORM)")
        for problem in lost[:20]:
            print(f"  {problem}")
        if unacknowledged:
            print(f"stored but never acknowledged (answer lost on the way back): {unacknowledged} needling entries")
        return 1 if errors or lost else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        if args.keep:
            print(f"\nkept: database {name}, role {app_role}, data folder {data_dir}")
        else:
            from django.db import connections

            connections.close_all()
            _admin_sql(
                args.server,
                [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'DROP ROLE IF EXISTS "{app_role}"'],
            )
            shutil.rmtree(data_dir, ignore_errors=True)


def _server_version(server: str) -> str:
    import psycopg

    with psycopg.connect(f"{server}/postgres") as connection:
        return str(connection.execute("SHOW server_version").fetchone()[0]).split()[0]


if __name__ == "__main__":
    raise SystemExit(main())
