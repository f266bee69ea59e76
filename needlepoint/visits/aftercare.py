"""The printable after-care sheet offered after every needling visit.

It carries the patient's name, the visit date, the clinic's name and general after-care advice from the data
file, and nothing from the clinical record (no muscles, findings or notes), so front desk may print it too.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.citations import sorted_keys
from needlepoint.patients.language import in_language, language_of, long_date
from needlepoint.references import keys_in_list
from needlepoint.visits.models import AfterCareGiven, Visit

AFTER_CARE_FILE = Path(__file__).parent / "data" / "after_care.json"


@cache
def after_care_sections() -> list[dict[str, Any]]:
    """The sheet's sections (heading, items with their sources), in the order printed."""
    sections: list[dict[str, Any]] = json.loads(AFTER_CARE_FILE.read_text(encoding="utf-8"))["sections"]
    return sections


def after_care_text_message(language: str = "en") -> str:
    """The short warning of the after-care text message, from the data file (with its sources there)."""
    message = json.loads(AFTER_CARE_FILE.read_text(encoding="utf-8"))["text_message"]
    return str(message["text_es"] if language == "es" else message["text"])


def sections_in(language: str) -> list[dict[str, Any]]:
    """The sheet's sections in ``language``: the Spanish heading and texts of the data file for 'es'."""
    if language != "es":
        return after_care_sections()
    return [
        {
            **section,
            "heading": section["heading_es"],
            "items": [{**item, "text": item["text_es"]} for item in section["items"]],
        }
        for section in after_care_sections()
    ]


def after_care_sheet(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """The after-care sheet of one needling visit; 404 when no needling was recorded in it."""
    # View-demographics is the right bar: the sheet shows who and when, never what was found or needled.
    visit = get_record(
        member(request),
        Visit.objects.select_related("patient", "clinic", "clinician__user"),
        visit_id,
        Capability.VIEW_DEMOGRAPHICS,
        summary="after-care sheet",
    )
    if not visit.needling_entries.exists():
        raise Http404("No needling is recorded in this visit, so there is no after-care sheet for it.")
    language = language_of(visit.patient)
    sections = sections_in(language)
    sources = sorted_keys(key for s in sections for item in s["items"] for key in keys_in_list(item["source"]))
    context = {
        "visit": visit,
        "patient": visit.patient,
        "clinic": visit.clinic,
        "sections": sections,
        "clinician_name": clinician_name(visit),
        "language": language,
    }
    with in_language(language):  # the sheet is the patient's: printed in their language
        return render(request, "visits/after_care.html", context | {"sources": ", ".join(sources)})


def clinician_name(visit: Visit) -> str:
    """The treating clinician as the patient knows them: full name, else the user name."""
    if visit.clinician_id is None:
        return ""
    user = visit.clinician.user
    return user.get_full_name() or user.username


def after_care_message(visit: Visit) -> tuple[str, str, str]:
    """Subject and body of the after-care e-mail, and the text message, from the same data as the printed sheet.

    The e-mail carries the whole sheet; a text message is too short for it, so it gives the warning signs, what
    to do about them and the clinic's number. Neither names a muscle, a finding or the condition.
    """
    language = language_of(visit.patient)
    with in_language(language):
        return _after_care_words(visit, language)


def _after_care_words(visit: Visit, language: str) -> tuple[str, str, str]:
    clinic = visit.clinic
    words = {
        "clinic": clinic.name,
        "day": long_date(timezone.localtime(visit.started_at)),
        "name": visit.patient.given_name,
        "phone": clinic.phone,
        "who": clinician_name(visit),
    }
    subject = _("%(clinic)s: after your dry needling on %(day)s") % words
    lines = [
        _("Dear %(name)s,") % words,
        "",
        _("Here is the after-care advice for your dry needling at %(clinic)s.") % words,
        "",
    ]
    for section in sections_in(language):
        lines += [section["heading"].upper()] + [f"- {item['text']}" for item in section["items"]] + [""]
    if clinic.phone:
        call = _("For questions about your treatment, call %(clinic)s on %(phone)s") % words
    else:
        call = _("For questions about your treatment, call %(clinic)s") % words
    lines += [
        _("WHO TO CALL"),
        call + ((_(" and ask for %(who)s.") % words) if words["who"] else "."),
        _("In an emergency, call your local emergency number first and tell them you had dry needling."),
        "",
        _("General advice, not a diagnosis: follow what your own clinician tells you."),
    ]
    questions = _("Questions: call us on %(phone)s.") % words if clinic.phone else _("Questions: call us.")
    text = f"{clinic.name}: {after_care_text_message(language)} {questions}"
    return subject, "\n".join(lines) + "\n", text


def needled_visit(membership: Membership, visit_id: Any, *, for_update: bool = False) -> Visit:
    """The visit whose after-care sheet is given, refused with a clear message when nothing was needled in it."""
    visit = get_record(
        membership,
        Visit.objects.select_related("patient", "clinic", "clinician__user"),
        visit_id,
        Capability.VIEW_DEMOGRAPHICS,
        summary="after-care sheet",
        for_update=for_update,
    )
    if not visit.needling_entries.exists():
        raise ValidationError(
            gettext(
                "No needling is recorded in this visit, so there is no after-care sheet to give; nothing was recorded."
            ),
            code="not_needled",
        )
    return visit


def record_after_care(membership: Membership, visit: Visit, how: str, sent_to: str = "") -> AfterCareGiven:
    """Record that the visit's after-care sheet was given, in the caller's transaction (a send that fails
    afterwards rolls the record back); the audit entry comes from the record."""
    return audit.wrote(
        AfterCareGiven.objects.create(
            clinic_id=visit.clinic_id,
            patient_id=visit.patient_id,
            visit=visit,
            how=how,
            sent_to=sent_to,
            given_by=membership,
        ),
        created=True,
    )


def record_after_care_printed(membership: Membership, visit_id: Any) -> AfterCareGiven:
    """Record that the after-care sheet was printed and handed to the patient, by the acting member, now."""
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    with transaction.atomic():
        visit = needled_visit(membership, visit_id, for_update=True)
        return record_after_care(membership, visit, AfterCareGiven.How.PRINTED)


def after_care_given(visit: Visit) -> list[AfterCareGiven]:
    """Each time the visit's after-care sheet was given, oldest first, with who gave it."""
    return list(visit.after_care_given.select_related("given_by__user").order_by("given_at", "pk"))
