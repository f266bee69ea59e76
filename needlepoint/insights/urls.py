"""Evidence pages: the claims report and its PDF."""

from django.urls import path

from needlepoint.insights import comparison_views, views

urlpatterns = [
    path("insights/", views.claims, name="insights"),
    path("insights/claims.pdf", views.claims_pdf_view, name="insights_claims_pdf"),
    path("insights/clinicians/", comparison_views.clinicians, name="insights_clinicians"),
]
