"""Outcome pages, the patient's self-report page (/p/<token>/, and /r/<token> by its short token) and the public
handout (/about-dry-needling/)."""

from django.urls import path

from needlepoint.outcomes import letters, views

EPISODE = "patients/<int:patient_id>/episodes/<int:episode_id>/outcomes/"

urlpatterns = [
    path(EPISODE, views.progress, name="outcomes_progress"),
    path(EPISODE + "report.pdf", views.report_pdf, name="outcomes_report"),
    path(EPISODE + "referral-letter/", letters.referral_letter, name="referral_letter"),
    path(EPISODE + "referral-letter.pdf", letters.referral_letter_pdf, name="referral_letter_pdf"),
    path(EPISODE + "diary-link/", views.diary_link, name="outcomes_diary_link"),
    path(EPISODE + "record/rom/", views.record_rom, name="outcomes_rom"),
    path(EPISODE + "record/<str:code>/", views.record_questionnaire, name="outcomes_record"),
    path("patients/<int:patient_id>/self-report-link/", views.send_link, name="outcomes_send_link"),
    path(
        "patients/<int:patient_id>/self-report-links/<int:link_id>/cancel/",
        views.cancel_link,
        name="outcomes_cancel_link",
    ),
    path(
        "patients/<int:patient_id>/self-report-links/<int:link_id>/resend/",
        views.resend_link,
        name="outcomes_resend_link",
    ),
    path("visits/<int:visit_id>/after-care/send/", views.send_after_care, name="visit_after_care_send"),
    path("outcomes/reassessments-overdue/", views.reassessments_overdue, name="reassessments_overdue"),
    path("outcomes/instruments/", views.plans, name="outcomes_plans"),
    path("outcomes/instruments/<str:code>/wording/", views.instrument_wording, name="outcomes_wording"),
    path("p/<str:token>/", views.self_report, name="self_report"),
    # The short link of text messages: the same page, reached by the link's short token.
    path("r/<str:token>", views.self_report, name="self_report_short"),
    path("about-dry-needling/", views.handout, name="handout"),
]
