"""Clicks and keystrokes a clinician spends on the three main flows, driven in a real browser.

    .venv/bin/python benchmarks/clinic_flow_effort.py                # 80-patient demo clinic, 3 runs
    .venv/bin/python benchmarks/clinic_flow_effort.py --repeat 5 --patients 200 --headed

It builds the demo clinic in a temporary data folder, serves it with ``needlepoint serve`` on a free loopback
port, signs in as the demo physical therapist and drives, as a clinician would:

1. a new three-muscle visit from the day's list to the signed note;
2. a follow-up visit started from the previous visit's needling, acknowledged, counted and signed;
3. booking a follow-up from the schedule (find the patient; book the follow-up the form proposes from the
   patient's last appointment when it is free, else click a free time of that day, else type the day and
   time), and the same booking from the signed visit ("Book a follow-up in a week").

Every action goes through a small wrapper that counts it: a click is 1 click; typing is one keystroke per
character; choosing from a select is 2 clicks (open, pick); Tab and Enter are keys. The keystroke-level
estimate is 1.2 s a click and 0.2 s a key (issue 10's targets: 60 s, 20 s and 10 s). The wall time is the
scripted run's own (the median of --repeat runs); it measures the server and the browser, not a person.
Playwright drives Debian's chromium (never a downloaded browser): apt-get install chromium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

# Waits use expect, never wait_for_function: the Content-Security-Policy refuses the eval the latter needs.
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SECONDS_PER_CLICK = 1.2
SECONDS_PER_KEY = 0.2
TARGETS = {"new visit": 60.0, "follow-up visit": 20.0, "book follow-up": 10.0, "  from the visit": 10.0}
# Needles per muscle in the new visit; the muscles are the first three the atlas lists for the episode's condition
# (a neck-and-shoulder set when it lists fewer).
NEEDLES = ("2", "1", "2")
FALLBACK_MUSCLES = ("upper-trapezius", "levator-scapulae", "infraspinatus")


def _environment(data_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("SECRET_KEY", "benchmark-only")
    env["NEEDLEPOINT_DATA_DIR"] = data_dir
    env["DJANGO_SETTINGS_MODULE"] = "needlepoint.settings"
    env["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    env.pop("DATABASE_URL", None)  # the benchmark clinic lives in its own temporary SQLite database
    return env


def _setup(data_dir: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(_environment(data_dir))
    os.environ.pop("DATABASE_URL", None)
    # Playwright's sync API runs an event loop in this thread; the ORM reads between flows stay synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data_dir: str, port: int) -> subprocess.Popen[bytes]:
    """Start ``needlepoint serve`` and wait until it answers."""
    log = open(Path(data_dir) / "server.log", "wb")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(
        [sys.executable, "-m", "needlepoint.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=_environment(data_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped; see {log.name}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).close()
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"the server did not answer within 60 s; see {log.name}")


def _settled(page: Any) -> None:
    """Wait until htmx has swapped the answer in (no request in flight, nothing settling)."""
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


@dataclass
class Effort:
    """The clinician's actions in one flow, counted as they are performed."""

    page: Any
    clicks: int = 0
    keys: int = 0
    steps: list[str] = field(default_factory=list)

    def click(self, target: Any, why: str = "", posts: bool = False) -> None:
        """One click on a selector or locator; with ``posts``, wait until the form it submits is answered."""
        if posts:
            with self.page.expect_response(lambda r: r.request.method == "POST"):
                self._locate(target).click()
            _settled(self.page)
        else:
            self._locate(target).click()
        self.clicks += 1
        self.steps.append(f"click {why or target}")

    def type(self, target: Any, text: str, focus: bool = True) -> None:
        """Click into the field (unless the cursor is already there), then one keystroke per character."""
        field_ = self._locate(target)
        if focus:
            field_.click()
            self.clicks += 1
        field_.fill(text)
        self.keys += len(text)
        self.steps.append(f"type {len(text)} keys into {target}")

    def type_keys(self, target: Any, value: str, keystrokes: int) -> None:
        """A date or time field: clicked, then typed as its digits (``keystrokes`` of them); filled as ``value``."""
        field_ = self._locate(target)
        field_.click()
        field_.fill(value)
        self.clicks += 1
        self.keys += keystrokes
        self.steps.append(f"type {keystrokes} keys into {target}")

    def press(self, target: Any, key: str, posts: bool = False) -> None:
        """One key (Enter, Tab) in a field that already has the cursor; ``posts`` as for a click."""
        if posts:
            with self.page.expect_response(lambda r: r.request.method == "POST"):
                self._locate(target).press(key)
            _settled(self.page)
        else:
            self._locate(target).press(key)
        self.keys += 1
        self.steps.append(f"press {key}")

    def choose(self, target: Any, value: str) -> None:
        """Choose from a select: open it and pick, 2 clicks."""
        self._locate(target).select_option(value)
        self.clicks += 2
        self.steps.append(f"choose {value} in {target}")

    def _locate(self, target: Any) -> Any:
        return self.page.locator(target) if isinstance(target, str) else target

    @property
    def estimate(self) -> float:
        """The keystroke-level estimate of the flow, in seconds."""
        return self.clicks * SECONDS_PER_CLICK + self.keys * SECONDS_PER_KEY


# --- choosing and booking the appointments the flows start from -------------------------------------------


def _clinician() -> Any:
    from needlepoint.accounts.models import Membership

    return Membership.objects.select_related("user", "clinic").get(user__username="pt", clinic__slug="demo")


def _today_open_appointments(pt: Any) -> list[Any]:
    from django.utils import timezone

    from needlepoint.scheduling.models import Appointment

    today = timezone.localdate()
    return list(
        Appointment.objects.filter(clinician=pt, starts_at__date=today, status="booked", visit__isnull=True)
        .select_related("patient")
        .order_by("starts_at")
    )


def _suits(appointment: Any, needs_previous: bool, taken: set[int]) -> bool:
    """A patient cleared for needling with one open episode; for a follow-up, a needled earlier visit."""
    from needlepoint.patients.gate import needling_clearance
    from needlepoint.patients.models import Episode
    from needlepoint.visits.models import Visit

    patient = appointment.patient
    if patient.pk in taken or not needling_clearance(patient).allowed:
        return False
    if Episode.objects.filter(patient=patient, status=Episode.Status.OPEN).count() != 1:
        return False
    if Visit.objects.filter(patient=patient, signed_at__isnull=True).exists():
        return False
    needled = Visit.objects.filter(
        patient=patient, signed_at__isnull=False, episode__status="open", needling_entries__isnull=False
    ).exists()
    return needled if needs_previous else True


def _book_now(pt: Any, needs_previous: bool, taken: set[int]) -> Any:
    """Book today's appointment at the current hour for a suitable patient (when the day's list has none)."""
    from django.utils import timezone

    from needlepoint.patients.models import Episode
    from needlepoint.scheduling.models import Appointment

    hour = timezone.localtime().replace(minute=0, second=0, microsecond=0)
    # Each appointment booked here gets its own 5 minutes of the hour, so none overlaps the one before.
    starts = hour + timedelta(minutes=5 * Appointment.objects.filter(clinician=pt, starts_at=hour).count())
    while Appointment.objects.filter(clinician=pt, starts_at=starts).exists():
        starts += timedelta(minutes=5)
    for episode in Episode.objects.filter(clinic=pt.clinic, opened_by=pt, status="open").select_related("patient"):
        candidate = Appointment(
            clinic=pt.clinic,
            patient=episode.patient,
            clinician=pt,
            kind="follow_up",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=30),
            booked_by=pt,
            booked_at=timezone.now(),
        )
        if _suits(candidate, needs_previous, taken):
            candidate.save()
            return candidate
    raise SystemExit("no demo patient suits this flow; build a larger demo with --patients")


def _pick(pt: Any, needs_previous: bool, taken: set[int]) -> Any:
    for appointment in _today_open_appointments(pt):
        if _suits(appointment, needs_previous, taken):
            return appointment
    return _book_now(pt, needs_previous, taken)


def _is_free(pt: Any, patient: Any, starts: datetime, minutes: int = 30) -> bool:
    """Whether a follow-up at ``starts`` clashes with neither the clinician's nor the patient's appointments."""
    from needlepoint.scheduling.models import Appointment

    ends = starts + timedelta(minutes=minutes)
    clash = Appointment.objects.filter(starts_at__lt=ends, ends_at__gt=starts).exclude(
        status__in=("cancelled", "no_show")
    )
    return not clash.filter(clinician=pt).exists() and not clash.filter(patient=patient).exists()


def _free_follow_up_slot(pt: Any, patient: Any, run: int) -> datetime:
    """A weekday a week or more ahead, after the demo's booked hours, free for the clinician and the patient."""
    from django.utils import timezone

    first_day = timezone.localdate() + timedelta(days=7)
    for day in (first_day + timedelta(days=n) for n in range(14)):
        if day.weekday() >= 5:
            continue
        evening = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=17)
        for slot in range(run % 4, 4):  # 17:00 to 18:30, past the demo's booked hours
            starts = evening + timedelta(minutes=30 * slot)
            if _is_free(pt, patient, starts):
                return starts
    raise SystemExit("no free follow-up slot found")


# --- the flows --------------------------------------------------------------------------------------------


def _acknowledge(effort: Effort, submit: str) -> None:
    """Acknowledge pending warnings with a precaution: one click when there is one, else tick each and submit."""
    page = effort.page
    while page.locator("[data-testid=pending-warnings]").count():
        single = page.locator("button[data-testid=precaution]")
        if single.count():
            effort.click(single.first, "the first precaution", posts=True)
        else:
            for warning in page.locator("[data-testid=pending-warning]").all():
                box = warning.locator("input[type=checkbox]")
                if not box.count():
                    raise SystemExit(f"a warning cannot be acknowledged: {warning.inner_text()}")
                box.first.check()
                effort.clicks += 1
                effort.steps.append(f"click precaution {box.first.get_attribute('value')}")
            effort.click(submit, "submit the acknowledgements", posts=True)


def _start_from_day_list(effort: Effort, appointment: Any) -> None:
    page = effort.page
    page.goto("/")
    link = page.locator(f"a[href='/appointments/{appointment.pk}/']")
    row = page.locator("[data-testid=today-appointment]", has=link)
    effort.click(row.locator("[data-testid=start-visit]"), "Start visit on the day's list")
    page.wait_for_url("**/visits/*/")


def _sign(effort: Effort) -> None:
    page = effort.page
    effort.click("[data-testid=sign]", "Sign visit", posts=True)
    _acknowledge(effort, "[data-testid=sign]")
    page.wait_for_selector("[data-testid=signed-note]")


def _count_needles(effort: Effort) -> None:
    page = effort.page
    effort.click("[data-testid=all-removed]", "all needles removed", posts=True)
    page.wait_for_selector("[data-testid=count-status]:has-text('accounted for')")


def _pain(effort: Effort) -> None:
    """The pain scores: each is saved as it is chosen (no save click); the script waits for the save."""
    effort.choose("#id_pain_before", "6")
    effort.choose("#id_pain_after", "3")
    expect(effort.page.locator("[data-testid=draft-status]")).to_have_attribute("data-state", "saved")
    _settled(effort.page)


def _muscles_for(appointment: Any) -> tuple[str, ...]:
    """Three muscles the atlas lists for the condition of the patient's open episode."""
    import json

    from needlepoint.patients.models import Episode

    condition = Episode.objects.get(patient_id=appointment.patient_id, status="open").condition
    atlas = json.loads((ROOT / "needlepoint" / "atlas" / "data" / "muscles.json").read_text())
    listed = tuple(m["id"] for m in atlas["muscles"] if condition in m.get("conditions", ()))
    return listed[:3] if len(listed) >= 3 else FALLBACK_MUSCLES


def new_visit(page: Any, appointment: Any) -> Effort:
    """From the day's list to the signed note of a three-muscle visit."""
    effort = Effort(page)
    _start_from_day_list(effort, appointment)
    _pain(effort)
    for n, (muscle, needles) in enumerate(zip(_muscles_for(appointment), NEEDLES, strict=True), start=1):
        effort.choose("#id_muscle_id", muscle)
        if not page.input_value("#id_side"):
            effort.choose("#id_side", "right")
        if page.eval_on_selector("#id_trigger_point", "el => el.required && !el.value"):
            first = page.eval_on_selector("#id_trigger_point", "el => el.options[1].value")
            effort.choose("#id_trigger_point", first)
        effort.type("#id_needles", needles)
        effort.press("#id_needles", "Enter", posts=True)
        _acknowledge(effort, "[data-testid=add-entry]")
        errors = page.locator("form.entry-form .errorlist, [data-testid=workspace-errors]")
        if errors.count():
            raise SystemExit(f"adding {muscle} failed: {errors.first.inner_text()}")
        expect(page.locator("[data-testid=needling-row]")).to_have_count(n)
    _count_needles(effort)
    _sign(effort)
    return effort


def follow_up_visit(page: Any, appointment: Any) -> Effort:
    """From the day's list, start from the previous visit's needling, acknowledge, count and sign."""
    effort = Effort(page)
    _start_from_day_list(effort, appointment)
    effort.click("[data-testid=copy-previous]", "start from the previous visit", posts=True)
    _acknowledge(effort, "[data-testid=copy-previous]")
    page.wait_for_selector("[data-testid=needling-row]")
    _count_needles(effort)
    _sign(effort)
    return effort


def book_follow_up(page: Any, patient: Any, starts: datetime) -> Effort:
    """From the dashboard: Schedule, Book an appointment, the family name and Enter (one patient found is chosen;
    among several, Enter on the first listed, which has the focus, or a click on the right one). The form then
    proposes a follow-up the same time a week (or two, three) after the last appointment: it is booked as it is
    when this script finds it free a week to three weeks ahead; otherwise a free time listed for that day is
    clicked, and failing that the day and time of ``starts`` are typed. Then Book."""
    effort = Effort(page)
    page.goto("/")
    effort.click("nav a[href='/schedule/']", "Schedule")
    effort.click("text=Book an appointment", "Book an appointment")
    # The search field has the cursor (autofocus): the family name, then Enter.
    effort.type("#q", patient.family_name, focus=False)
    effort.press("#q", "Enter", posts=True)
    page.wait_for_selector("[data-testid=booking-patient], [data-testid=booking-patients]")
    if not page.locator("[data-testid=booking-patient]").count():
        link = page.locator(
            f"[data-testid=booking-patients] a[href^='?patient={patient.pk}&'], "
            f"[data-testid=booking-patients] a[href='?patient={patient.pk}']"
        )
        if link.evaluate("el => el === document.activeElement"):
            effort.press(link, "Enter")
        else:
            effort.click(link, "Book for the patient")
        page.wait_for_selector("[data-testid=booking-patient]")
    _take_proposal_or_choose(effort, patient, starts)
    return effort


def _proposed(page: Any) -> tuple[Any, datetime | None, int]:
    """The clinician, start and length the booking form is filled in with."""
    from django.utils import timezone

    from needlepoint.accounts.models import Membership
    from needlepoint.scheduling.config import book_settings

    clinician = Membership.objects.get(pk=page.input_value("#id_clinician"))
    kind = book_settings(clinician.clinic.slug).type_named(page.input_value("#id_kind"))
    minutes = int(page.input_value("#id_minutes") or (kind.minutes if kind else 30))
    day, start = page.input_value("#id_day"), page.input_value("#id_start")
    if not (day and start):
        return clinician, None, minutes
    when = timezone.make_aware(datetime.combine(date.fromisoformat(day), datetime.strptime(start, "%H:%M").time()))
    return clinician, when, minutes


def _a_week_or_more_ahead(starts: datetime | None) -> bool:
    from django.utils import timezone

    return starts is not None and 7 <= (starts.date() - timezone.localdate()).days <= 21


def _take_proposal_or_choose(effort: Effort, patient: Any, starts: datetime) -> None:
    page = effort.page
    if page.input_value("#id_kind") != "follow_up":  # the form may already propose a follow-up
        effort.choose("#id_kind", "follow_up")
    clinician, proposed, minutes = _proposed(page)
    if not (_a_week_or_more_ahead(proposed) and _is_free(clinician, patient, proposed, minutes)):
        free = page.locator("[data-testid=free-time]")
        if _a_week_or_more_ahead(proposed) and free.count():
            with page.expect_navigation():
                effort.click(free.first, "a free time of the proposed day")
            clinician, proposed, minutes = _proposed(page)
            if not _is_free(clinician, patient, proposed, minutes):
                raise SystemExit(f"the free time listed for {proposed} is taken")
        else:
            _type_day_and_time(effort, starts)
    effort.click("form.card button[type=submit]", "Book")
    page.wait_for_selector(".alert.success:has-text('Booked ')")


def book_from_the_visit(page: Any, appointment: Any, starts: datetime) -> Effort:
    """The same booking from the appointment's signed visit: "Book a follow-up in a week" fills in the patient,
    the clinician, the day and the time; a clinician changes the day and time only when that slot is taken."""
    from django.utils import timezone

    appointment.refresh_from_db()
    page.goto(f"/visits/{appointment.visit_id}/")  # where the clinician is after signing
    effort = Effort(page)
    effort.click("[data-testid=book-follow-up]", "Book a follow-up in a week")
    if page.input_value("#id_kind") != "follow_up":
        effort.choose("#id_kind", "follow_up")
    proposed = timezone.make_aware(
        datetime.combine(
            datetime.fromisoformat(page.input_value("#id_day")).date(),
            datetime.strptime(page.input_value("#id_start"), "%H:%M").time(),
        )
    )
    # The form proposes the length of the patient's last appointment, not always 30 minutes.
    minutes = int(page.input_value("#id_minutes") or 60)  # empty: the type's length; check the longest offered
    if not _is_free(appointment.clinician, appointment.patient, proposed, minutes):
        _type_day_and_time(effort, starts)
    effort.click("form.card button[type=submit]", "Book")
    _booked_or_say_why(page)
    return effort


def _booked_or_say_why(page: Any) -> None:
    """Wait for the booking's confirmation; if it does not come, stop with what the page said instead."""
    try:
        page.wait_for_selector(".alert.success:has-text('Booked ')")
    except Exception:
        said = page.locator(".alert, .errorlist").all_inner_texts()
        raise SystemExit(f"the booking was not made: {said or page.url}") from None


def _type_day_and_time(effort: Effort, starts: datetime) -> None:
    from django.utils import timezone

    local = timezone.localtime(starts)
    # A date field takes its digits (MM DD YYYY, 8 keys); a time field hour, minute and AM/PM (5 keys).
    effort.type_keys("#id_day", local.date().isoformat(), 8)
    effort.type_keys("#id_start", f"{local:%H:%M}", 5)


# --- running and reporting --------------------------------------------------------------------------------


def _state_sizes() -> str:
    from needlepoint.patients.models import Patient
    from needlepoint.scheduling.models import Appointment
    from needlepoint.visits.models import Visit

    return (
        f"{Patient.objects.count():,} patients, {Visit.objects.count():,} visits "
        f"({Visit.objects.filter(signed_at__isnull=False).count():,} signed), "
        f"{Appointment.objects.count():,} appointments"
    )


def main() -> None:
    """Build and serve the demo clinic, drive the three flows --repeat times and print the effort."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each flow; the wall time is their median")
    parser.add_argument("--patients", type=int, default=80, help="patients in the demo clinic (default 80)")
    parser.add_argument("--headed", action="store_true", help="show the browser")
    parser.add_argument("--steps", action="store_true", help="list each flow's counted actions (last run)")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"chromium not found at {CHROMIUM}; install Debian's chromium (apt-get install chromium)")

    data_dir = tempfile.mkdtemp(prefix="needlepoint-effort-")
    try:
        _run(args, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _run(args: argparse.Namespace, data_dir: str) -> None:
    _setup(data_dir)
    from needlepoint.demo import DEMO_PASSWORD, build_demo

    print(f"building the demo clinic ({args.patients} patients) …", flush=True)
    build_demo(patients=args.patients, seed=2024)
    before = _state_sizes()
    port = _free_port()
    server = _serve(data_dir, port)
    results: dict[str, list[Effort]] = {name: [] for name in TARGETS}
    walls: dict[str, list[float]] = {name: [] for name in TARGETS}
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=not args.headed,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
            )
            context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=f"http://127.0.0.1:{port}")
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.goto("/login/")
            page.fill("#username", "pt")
            page.fill("#password", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            pt = _clinician()
            for run in range(args.repeat):
                taken: set[int] = set()
                first = _pick(pt, needs_previous=False, taken=taken)
                taken.add(first.patient_id)
                second = _pick(pt, needs_previous=True, taken=taken)
                flows = (
                    ("new visit", partial(new_visit, page, first)),
                    ("follow-up visit", partial(follow_up_visit, page, second)),
                    ("book follow-up", partial(book_follow_up, page, second.patient)),
                    ("  from the visit", partial(book_from_the_visit, page, first)),
                )
                for name, flow in flows:
                    if flow.func in (book_follow_up, book_from_the_visit):  # a free slot, found before the clock
                        patient = second.patient if flow.func is book_follow_up else first.patient
                        flow = partial(flow, _free_follow_up_slot(pt, patient, run))
                    started = time.perf_counter()
                    results[name].append(flow())
                    walls[name].append(time.perf_counter() - started)
            context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)

    print(f"\nstate before the runs: {before}")
    print(f"state after the runs:  {_state_sizes()}")
    print(f"keystroke-level estimate: {SECONDS_PER_CLICK} s a click, {SECONDS_PER_KEY} s a key; {args.repeat} runs\n")
    print("counts and estimate: the range over the runs; met: the slowest run's estimate is within the target")
    print(f"{'flow':<17} {'clicks':>6} {'keys':>6} {'estimate':>13} {'target':>7}  {'met':<4} {'wall (median)':>14}")
    for name, target in TARGETS.items():
        runs = results[name]

        def spread(values: list[float], digits: int = 0) -> str:
            low, high = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
            return low if low == high else f"{low}-{high}"

        estimates = [e.estimate for e in runs]
        met = "yes" if max(estimates) <= target else "NO"
        print(
            f"{name:<17} {spread([e.clicks for e in runs]):>6} {spread([e.keys for e in runs]):>6} "
            f"{spread(estimates, 1) + ' s':>13} {target:>5.0f} s  {met:<4} {statistics.median(walls[name]):>12.2f} s"
        )
    if args.steps:
        for name in TARGETS:
            print(f"\n{name}:")
            for step in results[name][-1].steps:
                print(f"  {step}")


if __name__ == "__main__":
    main()
