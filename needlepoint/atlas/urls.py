"""Atlas pages: search, muscles, and assessments with their pain drawing and palpation findings."""

from __future__ import annotations

from django.urls import path

from needlepoint.atlas import views

urlpatterns = [
    path("atlas/", views.index, name="atlas"),
    path("atlas/muscles/<slug:muscle_id>/", views.muscle_detail, name="atlas_muscle"),
    path("atlas/episodes/<int:episode_id>/assessments/new/", views.assessment_new, name="atlas_assessment_new"),
    path("atlas/episodes/<int:episode_id>/ranking/", views.ranking, name="atlas_episode_ranking"),
    path("atlas/assessments/<int:assessment_id>/", views.assessment_detail, name="atlas_assessment"),
    path("atlas/assessments/<int:assessment_id>/ranking/", views.ranking, name="atlas_assessment_ranking"),
    path("atlas/assessments/<int:assessment_id>/print/", views.assessment_print, name="atlas_assessment_print"),
    path("atlas/assessments/<int:assessment_id>/findings/", views.finding_add, name="atlas_finding_add"),
    path(
        "atlas/assessments/<int:assessment_id>/findings/<int:finding_id>/remove/",
        views.finding_remove,
        name="atlas_finding_remove",
    ),
]
