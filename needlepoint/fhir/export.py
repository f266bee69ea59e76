"""A patient's whole record, for the patient's right of access: one FHIR Bundle and a readable PDF.

The Bundle holds what ``$everything`` returns (Patient, Conditions, Consents, Procedures, Observations,
AdverseEvents) and, as DocumentReferences with the text attached, everything else the record holds: every visit's
note (signed, or the unsigned draft) and its addenda, every safety screening with its answers, every pain drawing
with its palpation findings, every adverse-event follow-up and the notes written beside questionnaire answers
(the activities a PSFS rates). The PDF prints the same documents for a person to read.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from django.template.defaultfilters import floatformat
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.models import Membership
from needlepoint.atlas.catalogue import regions
from needlepoint.atlas.models import Assessment, PalpationFinding, PatientPainDrawing
from needlepoint.fhir import codes, mapping, records
from needlepoint.fhir.mapping import Json, fhir_datetime, reference
from needlepoint.outcomes.models import Observation
from needlepoint.patients.models import Patient, Screening
from needlepoint.patients.screening_rules import screening_items
from needlepoint.visits.models import Addendum, AdverseEventFollowUp, Visit
from needlepoint.visits.muscles import muscle_name

DOCUMENT_KINDS = {
    "visit-note": "Visit note",
    "addendum": "Addendum to a visit note",
    "screening": "Safety screening",
    "pain-drawing": "Pain drawing",
    "adverse-event-follow-up": "Adverse-event follow-up",
    "questionnaire-notes": "Notes beside questionnaire answers",
}


@dataclass(frozen=True)
class RecordDocument:
    """One document of the record: what it is, when, by whom, and its text."""

    id: str
    kind: str
    title: str
    date: datetime
    author: str
    text: str
    final: bool = True
    appends: str | None = None  # the id of the document this one is added to (an addendum's visit note)


def _who(membership: Membership | None) -> str:
    return membership.display_name if membership is not None else ""


def _local(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _visit_documents(patient: Patient) -> list[RecordDocument]:
    found = []
    visits = Visit.objects.filter(patient=patient).select_related("clinician__user", "signed_by__user", "episode")
    for v in visits.order_by("started_at", "pk"):
        if v.signed_at is not None:
            text, author, final = v.note_text, _who(v.signed_by), True
        else:
            parts = [("Subjective", v.subjective), ("Assessment", v.assessment), ("Plan", v.plan)]
            text = "Unsigned draft.\n\n" + "\n\n".join(f"{label}: {body}" for label, body in parts if body)
            author, final = _who(v.clinician), False
        title = f"Visit note, {_local(v.started_at)} ({v.episode.condition_label})"
        found.append(RecordDocument(f"visit-{v.pk}", "visit-note", title, v.started_at, author, text, final))
    addenda = Addendum.objects.filter(patient=patient).select_related("author__user").order_by("written_at", "pk")
    for a in addenda:
        title = f"Addendum to the visit note of visit {a.visit_id}, {_local(a.written_at)}"
        found.append(
            RecordDocument(
                f"addendum-{a.pk}",
                "addendum",
                title,
                a.written_at,
                _who(a.author),
                a.text,
                appends=f"visit-{a.visit_id}",
            )
        )
    return found


def _screening_documents(patient: Patient) -> list[RecordDocument]:
    labels = {item.code: item.question for item in screening_items()}
    found = []
    for s in Screening.objects.filter(patient=patient).select_related("screened_by__user").order_by("screened_at"):
        lines = [f"Result: {s.get_status_display()}"]
        lines += [f"{labels.get(code, code)}: {_answer_text(answer)}" for code, answer in s.answers.items()]
        if s.findings:
            lines.append("Findings: " + ", ".join(str(f) for f in s.findings))
        if s.precautions_note:
            lines.append(f"Precautions note: {s.precautions_note}")
        if s.invalidated_at:
            lines.append(f"No longer valid since {_local(s.invalidated_at)}: {s.invalidated_reason}")
        title = f"Safety screening, {_local(s.screened_at)}"
        found.append(
            RecordDocument(
                f"screening-{s.pk}", "screening", title, s.screened_at, _who(s.screened_by), "\n".join(lines)
            )
        )
    return found


def _answer_text(answer: object) -> str:
    if isinstance(answer, dict):
        return "; ".join(f"{key}: {value}" for key, value in answer.items() if value not in ("", None))
    return str(answer)


def _pain_drawing_documents(patient: Patient) -> list[RecordDocument]:
    names = {code: region.name for code, region in regions().items()}
    found = []
    assessments = Assessment.objects.filter(patient=patient).select_related("clinician__user", "episode")
    for a in assessments.order_by("assessed_at", "pk"):
        lines = [f"{a.get_kind_display()} for {a.episode.condition_label}", "Painful regions (0-10):"]
        for code, pain in sorted(a.drawing.items()):
            lines.append(f"- {names.get(code, code)}: {'not rated' if pain is None else pain}")
        findings = PalpationFinding.objects.filter(assessment=a, removed_at__isnull=True).order_by("pk")
        if findings:
            lines.append("Palpation findings:")
        for f in findings:
            familiar = ", reproduces familiar pain" if f.reproduces_familiar_pain else ""
            point = f" {f.trigger_point}" if f.trigger_point else ""
            lines.append(
                f"- {muscle_name(f.muscle_id)}{point} ({f.side}): {f.get_status_display()}, "
                f"twitch {f.get_twitch_response_display()}{familiar}"
            )
        if a.notes:
            lines.append(f"Notes: {a.notes}")
        title = f"Pain drawing, {_local(a.assessed_at)}"
        found.append(
            RecordDocument(
                f"assessment-{a.pk}", "pain-drawing", title, a.assessed_at, _who(a.clinician), "\n".join(lines)
            )
        )
    # The patient's own drawings, sent from their phone with a self-report link.
    for d in PatientPainDrawing.objects.filter(patient=patient).select_related("episode").order_by("drawn_at", "pk"):
        lines = [f"Drawn by the patient for {d.episode.condition_label}", "Painful regions (0-10):"]
        lines += [f"- {names.get(c, c)}: {'not rated' if p is None else p}" for c, p in sorted(d.drawing.items())]
        title = f"The patient's own pain drawing, {_local(d.drawn_at)}"
        found.append(
            RecordDocument(
                f"patient-drawing-{d.pk}", "pain-drawing", title, d.drawn_at, "the patient", "\n".join(lines)
            )
        )
    return found


def _follow_up_documents(patient: Patient) -> list[RecordDocument]:
    found = []
    follow_ups = AdverseEventFollowUp.objects.filter(patient=patient).select_related("by__user", "event")
    for f in follow_ups.order_by("at", "pk"):
        lines = [
            f"Adverse event: {f.event.event_type} ({f.event.severity})",
            f"Outcome: {f.get_outcome_display()}",
            f.note,
        ]
        if f.next_follow_up_due:
            lines.append(f"Next follow-up due {f.next_follow_up_due:%Y-%m-%d}")
        if f.closes_event:
            lines.append("This follow-up closes the event.")
        title = f"Adverse-event follow-up, {_local(f.at)}"
        found.append(
            RecordDocument(f"ae-follow-up-{f.pk}", "adverse-event-follow-up", title, f.at, _who(f.by), "\n".join(lines))
        )
    return found


def _questionnaire_note_documents(patient: Patient) -> list[RecordDocument]:
    found = []
    for o in Observation.objects.filter(patient=patient).exclude(item_notes={}).select_related("recorded_by__user"):
        if not o.item_notes:
            continue
        # The score as the progress page shows it (one decimal at most), not the stored float's digits.
        lines = [f"{o.instrument} of {o.observed_on:%Y-%m-%d}, score {floatformat(o.value, -1)} {o.unit}"]
        for item, note in o.item_notes.items():
            answer = o.answers.get(item)
            lines.append(f"- {note}" + (f": {answer}" if answer is not None else ""))
        title = f"{o.instrument} notes, {o.observed_on:%Y-%m-%d}"
        found.append(
            RecordDocument(
                f"observation-notes-{o.pk}",
                "questionnaire-notes",
                title,
                o.observed_at,
                _who(o.recorded_by),
                "\n".join(lines),
            )
        )
    return found


def record_documents(patient: Patient) -> list[RecordDocument]:
    """Every text document of ``patient``'s record, oldest first."""
    found = [
        *_visit_documents(patient),
        *_screening_documents(patient),
        *_pain_drawing_documents(patient),
        *_follow_up_documents(patient),
        *_questionnaire_note_documents(patient),
    ]
    return sorted(found, key=lambda d: (d.date, d.id))


def document_reference(patient: Patient, document: RecordDocument) -> Json:
    """One document as a FHIR R4 DocumentReference with its text attached."""
    resource: Json = {
        "resourceType": "DocumentReference",
        "id": document.id,
        "status": "current",
        "docStatus": "final" if document.final else "preliminary",
        "type": codes.concept(
            codes.coding(codes.local_system("record-document"), document.kind, DOCUMENT_KINDS[document.kind])
        ),
        "subject": reference("Patient", str(patient.pk), f"{patient.given_name} {patient.family_name}"),
        "date": fhir_datetime(document.date),
        "description": document.title,
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(document.text.encode("utf-8")).decode("ascii"),
                    "title": document.title,
                }
            }
        ],
    }
    if document.author:
        resource["author"] = [{"display": document.author}]
    if document.appends:
        resource["relatesTo"] = [{"code": "appends", "target": reference("DocumentReference", document.appends)}]
    return resource


def _reader(patient: Patient) -> Membership:
    """Clinic-admin reading rights in the patient's clinic, for the resource lists (the caller checked access)."""
    return Membership(clinic=patient.clinic, role="clinic_admin", is_active=True)


def record_bundle(patient: Patient, base_url: str = codes.LOCAL_BASE) -> Json:
    """The whole record as a FHIR R4 collection Bundle, and one 'export' audit entry for it."""
    reader = _reader(patient)
    resources = [mapping.patient_resource(records.patient_data(patient))]
    for listed in records.clinical_resources(reader, [patient.pk]).values():
        resources += listed
    resources += [document_reference(patient, d) for d in record_documents(patient)]
    _audit_export(patient, f"FHIR Bundle of {len(resources)} resources")
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": fhir_datetime(timezone.now()),
        "entry": [
            {"fullUrl": f"{base_url.rstrip('/')}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        ],
    }


def record_pdf_bytes(patient: Patient) -> bytes:
    """The whole record as a readable PDF, and one 'export' audit entry for it."""
    from needlepoint.fhir.record_pdf import record_pdf

    documents = record_documents(patient)
    pdf = record_pdf(patient, documents, printed=_local(timezone.now()))
    _audit_export(patient, f"PDF of {len(documents)} documents")
    return pdf


def _audit_export(patient: Patient, what: str) -> None:
    audit.record(
        "export", patient, summary=f"record export (right of access): {what}", object_type="patients.Patient.record"
    )


def file_stem(patient: Patient) -> str:
    """The name the exported files share: the MRN, which carries no name."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in patient.mrn)
    return f"record-{safe}"
