"""Visit pages; the clinician dashboard is the home page."""

from __future__ import annotations

from django.urls import path

from needlepoint.visits import aftercare, event_views, printed, views

urlpatterns = [
    path("", views.dashboard, name="home"),
    path("episodes/<int:episode_id>/visits/new/", views.visit_start, name="visit_start"),
    path("visits/unsigned/", views.unsigned_visits_page, name="unsigned_visits"),
    path("visits/<int:visit_id>/", views.visit_detail, name="visit"),
    path("visits/<int:visit_id>/details/", views.details, name="visit_details"),
    path("visits/<int:visit_id>/draft/", views.draft, name="visit_draft"),
    path("visits/<int:visit_id>/take-over/", views.take_over, name="visit_take_over"),
    path("visits/<int:visit_id>/needling/", views.entry_add, name="visit_entry_add"),
    path("visits/<int:visit_id>/needling/copy/", views.copy_previous, name="visit_copy_previous"),
    path("visits/<int:visit_id>/needling/<int:entry_id>/remove/", views.entry_remove, name="visit_entry_remove"),
    path("visits/<int:visit_id>/acknowledge/", views.acknowledge, name="visit_acknowledge"),
    path("visits/<int:visit_id>/needle-counts/", views.counts, name="visit_counts"),
    path("visits/<int:visit_id>/needle-incident/", views.incident, name="visit_incident"),
    path("visits/<int:visit_id>/sign/", views.sign, name="visit_sign"),
    path("visits/<int:visit_id>/after-care/", aftercare.after_care_sheet, name="visit_after_care"),
    path("visits/<int:visit_id>/note/", printed.visit_note, name="visit_note"),
    path("visits/<int:visit_id>/note.pdf", printed.visit_note_pdf, name="visit_note_pdf"),
    path("visits/<int:visit_id>/addenda/", views.addendum, name="visit_addendum"),
    path("visits/<int:visit_id>/adverse-events/new/", views.adverse_event_new, name="adverse_event_new"),
    path("adverse-events/", views.adverse_events, name="adverse_events"),
    path("adverse-events/<int:event_id>/", views.adverse_event_detail, name="adverse_event"),
    # In-clinic safety events: position, clean technique, needle-stick injuries to staff.
    path("visits/<int:visit_id>/position/", event_views.position, name="visit_position"),
    path("visits/<int:visit_id>/clean-technique/", event_views.clean_technique, name="visit_clean_technique"),
    path("needle-sticks/", event_views.incidents, name="needle_sticks"),
    path("needle-sticks/new/", event_views.incident_new, name="needle_stick_new"),
    path("needle-sticks/<int:incident_id>/", event_views.incident_detail, name="needle_stick"),
]
