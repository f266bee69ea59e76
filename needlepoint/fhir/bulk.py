"""FHIR Bulk Data Access 2.0 ($export): kick-off, status, cancel, download, and the worker that writes the files.

A kick-off queues an ``ExportJob``; ``needlepoint fhir export-worker`` (a loop, or ``--once`` from cron) claims
queued jobs and writes one ndjson file per resource type into DATA_DIR/exports/<job id>/, using the same record
builders as the reads (``needlepoint.fhir.records``) with the requester's membership, so the clinic scope and the
role's capabilities are the reads'. Nothing but the database is needed. Only a clinic admin (EXPORT_RECORD) may
export; the files are served only to the clinic's admins, one audit entry per download, and are deleted when the
job expires (then the status and file addresses answer 410).

Levels: system (every patient of the clinic), Group (``condition-<code>``: the clinic's patients with an episode
of care of that condition, e.g. ``condition-neck-pain``) and Patient (every patient, or those named by the
``patient`` parameter of a POST).

Practitioners (the clinic's staff): a system-level export is the clinic's, so it holds its whole staff, as any
member reads it (those changed since ``_since``), and every member its other resources name. A Patient or Group
export holds the Practitioners the resources it returns name (Procedure.performer, Condition.recorder, ...),
whenever they last changed, and no other member: Bulk Data 2.0 lets a Patient- or Group-level export return the
resources outside the Patient compartment that the returned resources reference and that help to read them
(``_type``: "such as Organization and Practitioner"; ``_since``: "regardless of when the referenced resources were
last updated"), so every reference in the files resolves within them, and the rest of the staff is not the
patients' data. ``_type`` is obeyed as written: without Practitioner there is no Practitioner file (the
references then resolve by a read); Practitioner alone at the Patient or Group level is refused, as the spec
asks for types outside the Patient compartment only.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.access import patients_for, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.fhir import practitioners, records
from needlepoint.fhir.models import ExportJob
from needlepoint.fhir.practitioner_mapping import referenced_members
from needlepoint.patients.conditions import condition_label, conditions
from needlepoint.patients.models import Episode, Patient

KEPT_FOR = timedelta(hours=24)  # how long a finished export's files are kept
RETRY_AFTER_SECONDS = 5
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
# What an export can hold, and holds without _type: the patients' records and the staff they name.
EXPORT_TYPES = (*records.RESOURCE_TYPES, *records.STAFF_TYPES)
GROUP_PREFIX = "condition-"
KICK_OFF_PARAMS = ("_type", "_since", "_outputFormat", "patient")
BATCH = 200  # patients read together (one query per type), and between progress updates and looks for a cancel
Status = ExportJob.Status


class ExportGone(Exception):
    """The export expired or was cancelled: its files are deleted (410 Gone)."""


# ---------------------------------------------------------------------------------------------- groups


def group_id(condition: str) -> str:
    """The Group id of a condition's patients: ``condition-neck-pain`` (a FHIR id has no underscore)."""
    return GROUP_PREFIX + condition.replace("_", "-")


def group_condition(wanted: str) -> str:
    """The condition code a Group id names; 404, naming the Groups, for any other."""
    for code in conditions():
        if group_id(code) == wanted:
            return code
    known = ", ".join(group_id(code) for code in conditions())
    raise Http404(f"No Group {wanted}; the Groups are {known}.")


def groups() -> list[tuple[str, str]]:
    """Every Group: (id, what it holds), for the CapabilityStatement."""
    return [
        (group_id(code), f"the clinic's patients with an episode of {condition_label(code)}") for code in conditions()
    ]


# ---------------------------------------------------------------------------------------------- kick-off


@dataclass(frozen=True)
class ExportRequest:
    """What a kick-off asks for: resource types, the _since instant, and (Patient level) which patients."""

    types: tuple[str, ...]
    since: datetime | None
    patient_ids: tuple[int, ...] = ()


def _types(text: str) -> tuple[str, ...]:
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [t for t in wanted if t not in EXPORT_TYPES]
    if unknown:
        supported = ", ".join(EXPORT_TYPES)
        raise ValidationError(f"_type: {', '.join(unknown)} cannot be exported; supported: {supported}.")
    return tuple(dict.fromkeys(wanted))


def _instant(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"_since is an instant such as 2026-01-31T09:00:00Z; got {text!r}.") from None
    if when.tzinfo is None:
        raise ValidationError("_since needs a time zone (Z or +hh:mm).")
    if when > timezone.now():
        raise ValidationError("_since is in the future.")
    return when


def _patient_id(reference: str) -> int:
    number = reference.strip().removeprefix("Patient/")
    if not number.isascii() or not number.isdigit():
        raise ValidationError(f"patient: {reference!r} is not a Patient reference (Patient/<id>).")
    return int(number)


def parse_request(params: dict[str, list[str]]) -> ExportRequest:
    """The kick-off's parameters (from the address, or a POSTed Parameters resource), checked."""
    unknown = sorted(set(params) - set(KICK_OFF_PARAMS) - {"_format"})
    if unknown:
        raise ValidationError(
            f"Unsupported $export parameter(s): {', '.join(unknown)}. Supported: _type, _since, "
            "_outputFormat, and patient (Patient level, POST)."
        )
    for output_format in params.get("_outputFormat", []):
        if output_format not in OUTPUT_FORMATS:
            raise ValidationError(f"_outputFormat {output_format} is not supported; use application/fhir+ndjson.")
    types = tuple(dict.fromkeys(t for text in params.get("_type", []) for t in _types(text))) or EXPORT_TYPES
    since_values = params.get("_since", [])
    if len(since_values) > 1:
        raise ValidationError("_since is given once.")
    since = _instant(since_values[0]) if since_values else None
    patient_ids = tuple(dict.fromkeys(_patient_id(p) for p in params.get("patient", [])))
    return ExportRequest(types, since, patient_ids)


def kick_off(membership: Membership, level: str, wanted: ExportRequest, request_url: str, group: str = "") -> ExportJob:
    """Queue an export of the membership's clinic (a clinic admin's): every patient (system or Patient level),
    a Group's, or the named patients'. Bad input changes nothing."""
    require(membership, Capability.EXPORT_RECORD)
    if wanted.patient_ids and level != ExportJob.Level.PATIENT:
        raise ValidationError("patient is a parameter of the Patient-level export (POST Patient/$export).")
    if level == ExportJob.Level.GROUP:
        group_condition(group)
    if level != ExportJob.Level.SYSTEM and set(wanted.types) <= set(records.STAFF_TYPES):
        raise ValidationError(
            "_type: Practitioner alone is not the patients' data: a Patient or Group export gives the "
            "Practitioners its other resources name (add the types you want); the system-level $export gives "
            "the whole staff."
        )
    if wanted.patient_ids:
        found = set(patients_for(membership).filter(pk__in=wanted.patient_ids).values_list("pk", flat=True))
        missing = [str(pid) for pid in wanted.patient_ids if pid not in found]
        if missing:
            raise ValidationError(f"patient: no Patient {', '.join(missing)} in your clinic.")
    return ExportJob.objects.create(
        clinic_id=membership.clinic_id,
        requested_by=membership,
        level=level,
        group_id=group,
        patient_ids=list(wanted.patient_ids),
        types=list(wanted.types),
        since=wanted.since,
        request_url=request_url,
    )


# ---------------------------------------------------------------------------------------------- status, cancel, files


def job_for(membership: Membership, job_id: str) -> ExportJob:
    """The membership's clinic's export job (clinic admins only); 404 for any other, 410 once expired."""
    require(membership, Capability.EXPORT_RECORD)
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        raise Http404("No such export.") from None
    job = ExportJob.objects.filter(pk=key, clinic_id=membership.clinic_id).first()
    if job is None:
        raise Http404("No such export.")
    if job.status == Status.CANCELLED or (job.expires_at is not None and job.expires_at <= timezone.now()):
        raise ExportGone(f"The export {job.id} was cancelled or has expired; its files are deleted.")
    return job


def folder(job: ExportJob) -> Path:
    """Where a job's files are written: DATA_DIR/exports/<job id>/ (never served as a folder)."""
    return Path(settings.DATA_DIR) / "exports" / str(job.id)


def cancel(membership: Membership, job_id: str) -> ExportJob:
    """DELETE of the status address: a queued or running export stops, a finished one's files are deleted."""
    job = job_for(membership, job_id)
    with transaction.atomic():
        ExportJob.objects.filter(pk=job.pk).update(status=Status.CANCELLED, finished_at=timezone.now())
    shutil.rmtree(folder(job), ignore_errors=True)
    job.refresh_from_db()
    return job


def manifest(job: ExportJob, file_url: str) -> dict[str, object]:
    """The completed export's manifest (Bulk Data 2.0, "Response - Complete Status"); ``file_url`` is the
    address of the job's files, each file's name appended."""
    return {
        "transactionTime": (job.started_at or job.requested_at).isoformat(timespec="seconds"),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": f["type"], "url": f"{file_url}/{f['file']}", "count": f["count"]} for f in job.manifest],
        "error": [],
    }


def file_to_download(membership: Membership, job_id: str, name: str) -> tuple[Path, dict[str, object]]:
    """One ndjson file of a finished export of the membership's clinic, recorded as an export (one entry per
    download); 404 for a file the manifest does not list."""
    job = job_for(membership, job_id)
    listed = next((f for f in job.manifest if f["file"] == name), None) if job.status == Status.DONE else None
    path = folder(job) / name
    if listed is None or not path.is_file():
        raise Http404("No such file in this export.")
    audit.record(
        "export",
        summary=f"FHIR bulk export {job.id}: {name} ({listed['count']} {listed['type']})",
        clinic_id=job.clinic_id,
        object_type="fhir.ExportJob",
        object_id=str(job.id),
    )
    return path, listed


# ---------------------------------------------------------------------------------------------- the worker


def _patients(job: ExportJob, membership: Membership) -> QuerySet[Patient]:
    patients = patients_for(membership)
    if job.level == ExportJob.Level.GROUP:
        condition = group_condition(job.group_id)
        patients = patients.filter(Exists(Episode.objects.filter(patient_id=OuterRef("pk"), condition=condition)))
    if job.patient_ids:
        patients = patients.filter(pk__in=job.patient_ids)
    return patients.select_related("clinic").prefetch_related("identifiers").order_by("pk")


def _changed_since(resource: dict[str, Any], since: datetime | None) -> bool:
    if since is None:
        return True
    updated = resource.get("meta", {}).get("lastUpdated")
    # Every resource carries lastUpdated (to the second); one without is exported rather than lost.
    return updated is None or datetime.fromisoformat(str(updated)) >= since.replace(microsecond=0)


def _chunks(patients: Iterator[Patient], size: int) -> Iterator[list[Patient]]:
    chunk: list[Patient] = []
    for patient in patients:
        chunk.append(patient)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _still_wanted(job: ExportJob) -> bool:
    return ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).exists()


def _write(files: dict[str, TextIO], target: Path, resource_type: str, resource: dict[str, Any]) -> None:
    """One ndjson line in the type's file (opened at its first resource)."""
    if resource_type not in files:
        files[resource_type] = (target / f"{resource_type}-1.ndjson").open("w", encoding="utf-8")
    files[resource_type].write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")


def _staff(job: ExportJob, membership: Membership, named: set[int]) -> list[dict[str, Any]]:
    """The Practitioners the export holds when its types include them (see the module's docstring): at system
    level the staff changed since _since and every member named; otherwise the members named alone. Only the
    clinic's own members are ever found (``practitioners.staff_resources``)."""
    if "Practitioner" not in job.types:
        return []
    if job.level == ExportJob.Level.SYSTEM:
        return [
            r
            for r in practitioners.staff_resources(membership)
            if int(r["id"]) in named or _changed_since(r, job.since)
        ]
    return practitioners.staff_resources(membership, named) if named else []


def run(job: ExportJob) -> ExportJob:
    """Write a claimed job's ndjson files, one per type with resources, and its manifest; a cancel seen between
    patients stops it; a failure is recorded on the job and leaves no files."""
    membership = job.requested_by
    target = folder(job)
    target.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(job.types, 0)
    files: dict[str, TextIO] = {}
    exported: list[int] = []
    named: set[int] = set()  # the members the returned resources name
    try:
        require(membership, Capability.EXPORT_RECORD)
        patients = _patients(job, membership)
        total = patients.count()
        done = 0
        for chunk in _chunks(patients.iterator(chunk_size=BATCH), BATCH):
            for resource_type, resources in records.export_resources(membership, chunk, tuple(job.types)).items():
                for resource in resources:
                    if not _changed_since(resource, job.since):
                        continue
                    _write(files, target, resource_type, resource)
                    counts[resource_type] += 1
                    named |= referenced_members(resource)
            exported += [p.pk for p in chunk]
            done += len(chunk)
            if not _still_wanted(job):
                break
            ExportJob.objects.filter(pk=job.pk).update(progress=f"{done} of {total} patients")
        for resource in _staff(job, membership, named):
            _write(files, target, "Practitioner", resource)
            counts["Practitioner"] += 1
    except Exception as exc:
        for handle in files.values():
            handle.close()
        shutil.rmtree(target, ignore_errors=True)
        ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            status=Status.FAILED, finished_at=timezone.now(), error=str(exc)[:1000] or type(exc).__name__
        )
        raise
    for handle in files.values():
        handle.close()
    return _finish(job, target, counts, exported)


def _finish(job: ExportJob, target: Path, counts: dict[str, int], exported: list[int]) -> ExportJob:
    """Mark the job done with its manifest and record the export in each patient's trail, unless it was
    cancelled meanwhile (then its files go)."""
    written = [
        {"type": t, "file": f"{t}-1.ndjson", "count": n, "bytes": (target / f"{t}-1.ndjson").stat().st_size}
        for t, n in counts.items()
        if n
    ]
    now = timezone.now()
    with transaction.atomic():
        finished = ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            status=Status.DONE, finished_at=now, expires_at=now + KEPT_FOR, manifest=written, progress="done"
        )
        if finished:
            membership = job.requested_by
            actor = audit.Actor(
                membership.user_id, job.clinic_id, "cli", None, f"needlepoint fhir export-worker for {membership}"
            )
            summary = f"FHIR bulk export {job.id} ({job.level}): " + ", ".join(
                f"{f['count']} {f['type']}" for f in written
            )
            audit.record_many(actor, "export", job, exported, summary=summary or "nothing to export")
    if not finished:
        shutil.rmtree(target, ignore_errors=True)
    job.refresh_from_db()
    return job


def claim_next() -> ExportJob | None:
    """The oldest queued job, marked running; a job another worker claimed first is skipped."""
    for job in ExportJob.objects.filter(status=Status.QUEUED).order_by("requested_at")[:10]:
        claimed = ExportJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=timezone.now(), progress="starting"
        )
        if claimed:
            return ExportJob.objects.select_related("requested_by__user", "clinic").get(pk=job.pk)
    return None


def purge_expired() -> int:
    """Delete the files of expired exports (their addresses then answer 410); how many folders went."""
    gone = 0
    for job in ExportJob.objects.filter(expires_at__lte=timezone.now()).only("id"):
        if folder(job).exists():
            shutil.rmtree(folder(job), ignore_errors=True)
            gone += 1
    return gone


def work(once: bool = False, idle_seconds: float = 2.0, say: Callable[[str], None] = print) -> int:
    """Run queued exports: until none is left (``once``), or for ever, looking again every ``idle_seconds``.
    Returns how many jobs ran."""
    ran = 0
    while True:
        purge_expired()
        job = claim_next()
        if job is None:
            if once:
                return ran
            time.sleep(idle_seconds)
            continue
        try:
            job = run(job)
            say(f"export {job.id}: {job.status} " + ", ".join(f"{f['count']} {f['type']}" for f in job.manifest))
        except Exception as exc:  # a failed job is recorded on it; the worker goes on with the next
            say(f"export {job.id}: failed ({exc})")
        ran += 1


def with_bulk_export(statement: dict[str, Any]) -> dict[str, Any]:
    """The CapabilityStatement with the $export operations and the Group resource (read only by $export)."""
    rest = statement["rest"][0]
    export_docs = (
        "Bulk Data Access 2.0 $export (kick-off with Prefer: respond-async; 202 and Content-Location; poll the "
        "status address: 202 with X-Progress and Retry-After, then 200 and the manifest; ndjson per type; _type, "
        "_since; Practitioners: the system level gives the clinic's staff, a Patient or Group export the "
        "Practitioners its resources reference (whenever they changed); DELETE the status address to cancel; "
        "files kept 24 hours, then 410). Authorised by a clinic admin's personal API token; SMART "
        "backend-services client credentials are a later step."
    )
    operation = {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}
    rest.setdefault("operation", []).append(
        {**operation, "documentation": "System level: every patient of your clinic. " + export_docs}
    )
    for entry in rest["resource"]:
        if entry["type"] == "Patient":
            entry.setdefault("operation", []).append(
                {
                    "name": "export",
                    "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
                    "documentation": "Every patient of your clinic, or (POST, Parameters) those named by patient.",
                }
            )
    listed = "; ".join(f"Group/{gid}: {what}" for gid, what in groups())
    rest["resource"].append(
        {
            "type": "Group",
            "documentation": f"A Group is the clinic's patients with an episode of care of one condition: {listed}.",
            "operation": [
                {
                    "name": "export",
                    "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
                    "documentation": "The Group's patients. " + export_docs,
                }
            ],
        }
    )
    return statement
