"""A patient keeps a headache diary on a 390 px phone for several days through one reusable link; the clinician
then sees headache days and acute-medication days per 28-day month and the responder status."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from needlepoint.outcomes import actions
from needlepoint.outcomes.models import HeadacheDiaryEntry, SelfReportLink
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.outcomes.conftest import open_episode


def _earlier_months(link: SelfReportLink) -> None:
    """The diary's first two months, written earlier: 14 headache days at baseline, then 7 (a 50% reduction)."""
    today = timezone.localdate()
    for back in range(58, 2, -1):
        n = 58 - back
        ache = n % 2 == 0 if n < 28 else n % 4 == 0
        HeadacheDiaryEntry.objects.create(
            clinic_id=link.clinic_id,
            patient_id=link.patient_id,
            episode_id=link.episode_id,
            link=link,
            day=today - timedelta(days=back),
            headache=ache,
            worst_intensity=6 if ache else None,
            hours=4.0 if ache else None,
            acute_medication=ache,
        )


def _fill_day(page, index: int, *, headache: bool, worst: int = 0, hours: str = "", medication: bool) -> None:
    page.locator(f'label[for="id_day_{index}"]').tap()
    page.locator(f'label[for="id_headache_{0 if headache else 1}"]').tap()
    if headache:
        page.locator(f'label[for="id_worst_intensity_{worst}"]').tap()
        page.fill("#id_hours", hours)
    page.locator(f'label[for="id_acute_medication_{0 if medication else 1}"]').tap()
    page.click("button:has-text('Save this day')")


def test_a_patient_keeps_a_diary_on_a_phone_and_the_clinician_sees_the_monthly_figures(
    phone_page, page, clinician, patient
) -> None:
    episode = open_episode(clinician, patient, "migraine", "G43.009", "bilateral", days_ago=60)
    issued = actions.create_diary_link(clinician, episode)
    SelfReportLink.objects.filter(pk=issued.link.pk).update(created_at=timezone.now() - timedelta(days=58))
    _earlier_months(issued.link)

    # Three days on the phone through the same link: the day before yesterday, yesterday and today.
    phone_page.goto(f"/p/{issued.token}/")
    assert "Your headache diary" in phone_page.inner_text("main")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    _fill_day(phone_page, 2, headache=True, worst=7, hours="5", medication=True)
    assert "Saved for" in phone_page.inner_text("[data-testid=diary-saved]")
    phone_page.goto(f"/p/{issued.token}/")  # the link opens again the next day
    _fill_day(phone_page, 1, headache=False, medication=False)
    # A headache day without its intensity is refused and nothing is stored.
    phone_page.locator('label[for="id_day_0"]').tap()
    phone_page.locator('label[for="id_headache_0"]').tap()
    phone_page.locator('label[for="id_acute_medication_1"]').tap()
    phone_page.click("button:has-text('Save this day')")
    assert "Nothing was saved" in phone_page.inner_text("[data-testid=form-errors]")
    assert not HeadacheDiaryEntry.objects.filter(day=timezone.localdate()).exists()
    _fill_day(phone_page, 0, headache=True, worst=4, hours="1.5", medication=False)
    # Today is changed again today: the entry is replaced, the earlier answers kept.
    _fill_day(phone_page, 0, headache=True, worst=5, hours="2", medication=True)
    recent = phone_page.inner_text("[data-testid=diary-recent]")
    assert "worst 5/10, 2 h" in recent and "worst 7/10, 5 h" in recent
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    today_entry = HeadacheDiaryEntry.objects.get(day=timezone.localdate())
    assert today_entry.worst_intensity == 5 and today_entry.replaced[0]["worst_intensity"] == 4

    # A day already past cannot be changed any more.
    phone_page.goto(f"/p/{issued.token}/")
    _fill_day(phone_page, 1, headache=True, worst=9, hours="8", medication=True)
    assert "can no longer be changed" in phone_page.inner_text("main")

    # The clinician sees the months, the medication days and the responder status.
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/patients/{patient.pk}/episodes/{episode.pk}/outcomes/")
    months = page.locator("[data-testid=diary-months]")
    assert months.is_visible()
    assert page.inner_text("[data-testid=headache-days-1]") == "14"
    assert page.inner_text("[data-testid=medication-days-1]") == "14"
    assert page.inner_text("[data-testid=headache-days-2]") == "7"
    assert page.inner_text("[data-testid=headache-days-3]") == "2"  # the running month: two headache days so far
    assert "3 of 28" in page.inner_text("tr[data-period='3']")
    assert "month still running" in page.inner_text("tr[data-period='3']")
    responder = page.inner_text("[data-testid=diary-responder]")
    assert "Responder" in responder and "50% fewer headache days" in responder
