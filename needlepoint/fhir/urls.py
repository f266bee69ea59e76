"""URLs of the FHIR R4 endpoints, included under /fhir/R4/. The base itself, with or without its slash, takes the
transaction POST, so that clients posting to the base URL as FHIR writes it are not redirected (see
needlepoint/urls.py for the slash-less base, and for the catch-all that answers every other /fhir/ address with
an OperationOutcome)."""

from __future__ import annotations

from django.urls import re_path

from needlepoint.fhir import bulk_views, views

ID = r"(?P<resource_id>[A-Za-z0-9\-.]{1,64})"
VERSION = r"(?P<version_id>[A-Za-z0-9\-.]{1,64})"
JOB = r"(?P<job_id>[0-9a-f\-]{36})"
TYPES = (
    r"(?P<resource_type>Patient|Condition|Procedure|Observation|Consent|AdverseEvent"
    r"|QuestionnaireResponse|Questionnaire|Practitioner)"
)

app_name = "fhir"
urlpatterns = [
    re_path(r"^$", views.transaction, name="transaction"),
    re_path(r"^metadata$", views.capability, name="metadata"),
    re_path(r"^\$export$", bulk_views.export_system, name="export_system"),
    re_path(r"^Patient/\$export$", bulk_views.export_patients, name="export_patients"),
    re_path(r"^Group/(?P<group_id>[A-Za-z0-9\-.]{1,64})/\$export$", bulk_views.export_group, name="export_group"),
    re_path(rf"^\$export-status/{JOB}$", bulk_views.export_status, name="export_status"),
    re_path(
        rf"^\$export-file/{JOB}/(?P<file_name>[A-Za-z]+-[0-9]+\.ndjson)$", bulk_views.export_file, name="export_file"
    ),
    re_path(rf"^Patient/{ID}/\$everything$", views.everything, name="everything"),
    re_path(rf"^{TYPES}$", views.search, name="search"),
    re_path(rf"^{TYPES}/_search$", views.search_by_post, name="search_by_post"),
    re_path(rf"^{TYPES}/{ID}$", views.read, name="read"),
    re_path(rf"^{TYPES}/{ID}/_history$", views.history, name="history"),
    re_path(rf"^{TYPES}/{ID}/_history/{VERSION}$", views.vread, name="vread"),
]
