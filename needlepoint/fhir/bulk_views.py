"""The Bulk Data Access 2.0 endpoints: $export kick-off (system, Group, Patient), status, cancel, file download.
The work is in ``needlepoint.fhir.bulk``; these views read the request and shape the answers."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import http_date

from needlepoint.accounts.models import Membership
from needlepoint.fhir import bulk, mapping
from needlepoint.fhir.mapping import Issue
from needlepoint.fhir.models import ExportJob
from needlepoint.fhir.views import JSON_TYPES, fhir_endpoint, fhir_response, outcome_response

NDJSON = "application/fhir+ndjson"
Status = ExportJob.Status


def _parameters(body: bytes) -> dict[str, list[str]]:
    """A POSTed Parameters resource as the kick-off's parameters (valueString, valueInstant, valueReference)."""
    try:
        resource = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(resource, dict) or resource.get("resourceType") != "Parameters":
        raise ValidationError("POST a Parameters resource (or GET with the parameters in the address).")
    params: dict[str, list[str]] = {}
    for parameter in resource.get("parameter", []):
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise ValidationError("Each parameter has a name.")
        value: Any = next((v for k, v in parameter.items() if k.startswith("value")), None)
        if isinstance(value, dict):
            value = value.get("reference")
        if not isinstance(value, str):
            raise ValidationError(f"Parameter {parameter['name']} has no value.")
        params.setdefault(parameter["name"], []).append(value)
    return params


def _kick_off(request: HttpRequest, membership: Membership, level: str, group: str = "") -> HttpResponse:
    if "respond-async" not in request.headers.get("Prefer", ""):
        return outcome_response(400, "invalid", "An export runs in the background: send Prefer: respond-async.")
    if request.method == "POST":
        if request.content_type not in JSON_TYPES:
            return outcome_response(415, "not-supported", "POST the Parameters as application/fhir+json.")
        params = _parameters(request.body)
    else:
        params = {key: values for key, values in request.GET.lists() if key != "_format"}
    job = bulk.kick_off(membership, level, bulk.parse_request(params), request.build_absolute_uri(), group)
    status_url = request.build_absolute_uri(reverse("fhir:export_status", args=[str(job.id)]))
    note = f"Export {job.id} queued; poll {status_url}."
    return fhir_response(
        mapping.operation_outcome([Issue("information", "informational", note)]),
        status=202,
        headers={"Content-Location": status_url},
    )


@fhir_endpoint("GET", "POST")
def export_system(request: HttpRequest, membership: Membership) -> HttpResponse:
    """[base]/$export: every patient of the clinic."""
    return _kick_off(request, membership, ExportJob.Level.SYSTEM)


@fhir_endpoint("GET", "POST")
def export_patients(request: HttpRequest, membership: Membership) -> HttpResponse:
    """[base]/Patient/$export: every patient of the clinic, or those a POST names with ``patient``."""
    return _kick_off(request, membership, ExportJob.Level.PATIENT)


@fhir_endpoint("GET", "POST")
def export_group(request: HttpRequest, membership: Membership, group_id: str) -> HttpResponse:
    """[base]/Group/{id}/$export: the clinic's patients with an episode of the Group's condition."""
    return _kick_off(request, membership, ExportJob.Level.GROUP, group_id)


@fhir_endpoint("GET", "DELETE")
def export_status(request: HttpRequest, membership: Membership, job_id: str) -> HttpResponse:
    """The status address: 202 while queued or running (X-Progress, Retry-After), 200 and the manifest when
    done, 500 and an OperationOutcome when it failed; DELETE cancels (202)."""
    if request.method == "DELETE":
        job = bulk.cancel(membership, job_id)
        note = f"Export {job.id} cancelled; its files are deleted."
        return fhir_response(mapping.operation_outcome([Issue("information", "informational", note)]), status=202)
    job = bulk.job_for(membership, job_id)
    if job.status in (Status.QUEUED, Status.RUNNING):
        progress = job.progress or job.get_status_display().lower()
        headers = {"X-Progress": progress, "Retry-After": str(bulk.RETRY_AFTER_SECONDS)}
        return HttpResponse(status=202, headers=headers)
    if job.status == Status.FAILED:
        return outcome_response(500, "exception", f"The export failed: {job.error}")
    files_url = request.build_absolute_uri(reverse("fhir:export_status", args=[str(job.id)])).replace(
        "/$export-status/", "/$export-file/"
    )
    headers = {"Expires": http_date(job.expires_at.timestamp())} if job.expires_at else {}
    return fhir_response(bulk.manifest(job, files_url), headers=headers)


@fhir_endpoint("GET", offers=(NDJSON, "application/ndjson", "application/*", "*/*"))
def export_file(
    request: HttpRequest, membership: Membership, job_id: str, file_name: str
) -> HttpResponse | FileResponse:
    """One ndjson file of a finished export, to the clinic's admins only (one audit entry per download)."""
    path, _ = bulk.file_to_download(membership, job_id, file_name)
    return FileResponse(path.open("rb"), content_type=NDJSON)
