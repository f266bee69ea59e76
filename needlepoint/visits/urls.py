"""Visit pages; the clinician dashboard is the home page."""

from __future__ import annotations

from django.urls import path

from needlepoint.visits import aftercare, views

urlpatterns = [
    path("", views.dashboard, name="home"),
    path("episodes/<int:episode_id>/visits/new/", views.visit_start, name="visit_start"),
    path("visits/<int:visit_id>/", views.visit_detail, name="visit"),
    path("visits/<int:visit_id>/details/", views.details, name="visit_details"),
    path("visits/<int:visit_id>/needling/", views.entry_add, name="visit_entry_add"),
    path("visits/<int:visit_id>/needling/copy/", views.copy_previous, name="visit_copy_previous"),
    path("visits/<int:visit_id>/needling/<int:entry_id>/remove/", views.entry_remove, name="visit_entry_remove"),
    path("visits/<int:visit_id>/acknowledge/", views.acknowledge, name="visit_acknowledge"),
    path("visits/<int:visit_id>/needle-counts/", views.counts, name="visit_counts"),
    path("visits/<int:visit_id>/needle-incident/", views.incident, name="visit_incident"),
    path("visits/<int:visit_id>/sign/", views.sign, name="visit_sign"),
    path("visits/<int:visit_id>/after-care/", aftercare.after_care_sheet, name="visit_after_care"),
    path("visits/<int:visit_id>/addenda/", views.addendum, name="visit_addendum"),
    path("visits/<int:visit_id>/adverse-events/new/", views.adverse_event_new, name="adverse_event_new"),
    path("adverse-events/", views.adverse_events, name="adverse_events"),
    path("adverse-events/<int:event_id>/", views.adverse_event_detail, name="adverse_event"),
]
