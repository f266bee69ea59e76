"""URLs of the FHIR R4 endpoints, included under /fhir/R4/."""

from __future__ import annotations

from django.urls import path, re_path

from needlepoint.fhir import views

ID = r"(?P<resource_id>[A-Za-z0-9\-.]{1,64})"
TYPES = r"(?P<resource_type>Patient|Condition|Procedure|Observation|Consent|AdverseEvent)"

app_name = "fhir"
urlpatterns = [
    path("metadata", views.capability, name="metadata"),
    path("", views.transaction, name="transaction"),
    re_path(rf"^Patient/{ID}/\$everything$", views.everything, name="everything"),
    re_path(rf"^{TYPES}$", views.search, name="search"),
    re_path(rf"^{TYPES}/{ID}$", views.read, name="read"),
]
