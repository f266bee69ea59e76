"""Every write of assessment data: one function per action.

Each action owns its transaction, fetches and locks its rows through the access helper, checks the
invariants (a drawing names only catalogue regions with pain 0-10, a finding names a catalogue muscle,
side and trigger point; one initial assessment per episode) and records its audit entry (``audit.wrote``).
Bad input raises ``ValidationError`` with a message a clinician can act on, and changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.atlas.catalogue import MuscleSite, MuscleSiteError, body_map, muscle_site, unknown_region_message
from needlepoint.atlas.models import Assessment, PalpationFinding, PatientPainDrawing
from needlepoint.patients.models import Episode

MAX_INTENSITY = 10
MAX_NOTES = 5000
# A tablet's clock may run a little ahead of the server's; further ahead is a typing mistake.
FUTURE_TOLERANCE = timedelta(minutes=15)


# --- checking input ----------------------------------------------------------------------------------


def clean_drawing(drawing: Any) -> dict[str, int | None]:
    """A drawing checked against the catalogue: ``{region_code: whole number 0-10 or None}``, in chart order.

    Raises ``ValidationError`` (on the field ``drawing``) naming each unknown region, with the closest
    codes, and each intensity that is not a whole number from 0 to 10.
    """
    if drawing is None:
        return {}
    if not isinstance(drawing, Mapping):
        raise ValidationError(
            {"drawing": gettext("A pain drawing maps region codes to a pain from 0 to 10 (or null).")}
        )
    regions = body_map().regions
    problems: list[str] = []
    cleaned: dict[str, int | None] = {}
    for code, value in drawing.items():
        if code not in regions:
            problems.append(unknown_region_message(str(code)))
            continue
        intensity = _intensity(value)
        if intensity is False:
            problems.append(
                f"Pain in {regions[code].name} must be a whole number from 0 to {MAX_INTENSITY} "
                f"or left unrated, not {value!r}."
            )
            continue
        cleaned[code] = intensity
    if problems:
        raise ValidationError({"drawing": problems})
    order = {code: i for i, code in enumerate(regions)}
    return dict(sorted(cleaned.items(), key=lambda item: order[item[0]]))


def _intensity(value: Any) -> int | bool | None:
    """The intensity as a whole number, None for unrated, or False when it is not acceptable."""
    if value is None:
        return None
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        if math.isnan(value) or not value.is_integer():
            return False
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_INTENSITY:
        return False
    return value


def _clean_notes(notes: Any) -> str:
    text = str(notes or "").strip()
    if len(text) > MAX_NOTES:
        raise ValidationError({"notes": gettext("Keep the notes under %(count)s characters.") % {"count": MAX_NOTES}})
    return text


def _episode_start(episode: Episode) -> date:
    return timezone.localtime(episode.opened_at).date()


def _clean_assessed_at(episode: Episode, given: Any) -> datetime:
    value = timezone.now() if given is None or given == "" else given
    if not isinstance(value, datetime):
        raise ValidationError({"assessed_at": gettext("Enter the date and time of the assessment.")})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    day = timezone.localtime(value).date()
    if value > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError({"assessed_at": gettext("The assessment cannot be dated in the future.")})
    if day < _episode_start(episode):
        raise ValidationError(
            {
                "assessed_at": gettext("The assessment is dated %(day)s, before the episode began on %(start)s.")
                % {"day": f"{day:%Y-%m-%d}", "start": f"{_episode_start(episode):%Y-%m-%d}"}
            }
        )
    if episode.discharge_date and day > episode.discharge_date:
        raise ValidationError(
            {
                "assessed_at": gettext(
                    "The episode was discharged on %(day)s; an assessment cannot be dated after that."
                )
                % {"day": f"{episode.discharge_date:%Y-%m-%d}"}
            }
        )
    return value


def _clean_kind(episode: Episode, kind: Any, assessed_at: datetime) -> str:
    earlier = list(
        Assessment.objects.filter(episode=episode).order_by("assessed_at", "pk").values("kind", "assessed_at")
    )
    initial = next((a for a in earlier if a["kind"] == Assessment.Kind.INITIAL), None)
    if kind in (None, ""):
        kind = Assessment.Kind.REASSESSMENT if initial else Assessment.Kind.INITIAL
    if kind not in Assessment.Kind.values:
        raise ValidationError({"kind": gettext("Choose initial assessment, re-assessment or discharge assessment.")})
    if initial is None and kind != Assessment.Kind.INITIAL:
        raise ValidationError({"kind": gettext("The first assessment of an episode is its initial assessment.")})
    if initial is not None and kind == Assessment.Kind.INITIAL:
        raise ValidationError(
            {
                "kind": gettext("This episode already has its initial assessment (%(day)s); record a re-assessment.")
                % {"day": f"{timezone.localtime(initial['assessed_at']):%Y-%m-%d}"}
            }
        )
    if initial is not None and assessed_at < initial["assessed_at"]:
        raise ValidationError(
            {
                "assessed_at": gettext("A %(kind)s cannot be dated before the initial assessment (%(when)s).")
                % {
                    "kind": Assessment.Kind(kind).label.lower(),
                    "when": f"{timezone.localtime(initial['assessed_at']):%Y-%m-%d %H:%M}",
                }
            }
        )
    if kind == Assessment.Kind.DISCHARGE and any(a["kind"] == Assessment.Kind.DISCHARGE for a in earlier):
        raise ValidationError({"kind": gettext("This episode already has a discharge assessment.")})
    return str(kind)


# --- assessments -------------------------------------------------------------------------------------


@transaction.atomic
def create_assessment(membership: Membership, episode: Episode, data: Mapping[str, Any]) -> Assessment:
    """Record an assessment with its pain drawing in an episode, for the acting clinician.

    ``data``: ``drawing`` ({region code: 0-10 or None}), ``kind`` (initial first, then re-assessment or
    discharge; chosen for you when omitted), ``assessed_at`` (now when omitted), ``notes``.
    """
    require(membership, Capability.EDIT_CLINICAL)
    if episode.clinic_id != membership.clinic_id:
        raise ValidationError(gettext("This episode belongs to another clinic."))
    # Lock the episode so two clinicians cannot both record its initial assessment.
    episode = Episode.objects.select_for_update(no_key=True).get(pk=episode.pk)
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for name, check in (
        ("drawing", lambda: clean_drawing(data.get("drawing"))),
        ("notes", lambda: _clean_notes(data.get("notes"))),
        ("assessed_at", lambda: _clean_assessed_at(episode, data.get("assessed_at"))),
    ):
        try:
            values[name] = check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "assessed_at" in values:
        try:
            values["kind"] = _clean_kind(episode, data.get("kind"), values["assessed_at"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return audit.wrote(
        Assessment.objects.create(
            clinic_id=episode.clinic_id,
            patient_id=episode.patient_id,
            episode=episode,
            clinician=membership,
            **values,
        ),
        created=True,
    )


def conflict_message(assessment: Assessment, expected_version: int) -> str:
    """What a clinician reads when someone else saved the assessment first."""
    return (
        f"Someone else changed this assessment while you were editing (it is now at version "
        f"{assessment.version}, you had version {expected_version}). Nothing of yours was saved: reload the "
        "page to see their drawing, then make your changes again."
    )


@transaction.atomic
def update_assessment(
    membership: Membership, assessment_id: int, data: Mapping[str, Any], expected_version: int
) -> Assessment:
    """Change an assessment's drawing and notes; refused if someone saved a newer version meanwhile."""
    assessment = _locked_assessment(membership, assessment_id)
    if int(expected_version or 0) != assessment.version:
        raise ValidationError(conflict_message(assessment, int(expected_version or 0)), code="conflict")
    errors: dict[str, Any] = {}
    if "drawing" in data:
        try:
            assessment.drawing = clean_drawing(data["drawing"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "notes" in data:
        try:
            assessment.notes = _clean_notes(data["notes"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    assessment.version += 1
    assessment.save()
    return audit.wrote(assessment, created=False)


def _locked_assessment(membership: Membership, assessment_id: int) -> Assessment:
    require(membership, Capability.EDIT_CLINICAL)
    return get_record(
        membership,
        Assessment.objects.select_related("episode"),
        assessment_id,
        Capability.EDIT_CLINICAL,
        for_update=True,
    )


# --- palpation findings ------------------------------------------------------------------------------


def _clean_finding(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    site: MuscleSite | None = None
    try:
        site = muscle_site(data.get("muscle_id"), data.get("side"), data.get("trigger_point"))
    except MuscleSiteError as exc:
        errors |= exc.problems
    status = data.get("status")
    if status not in PalpationFinding.Status.values:
        errors["status"] = "Say whether the trigger point is active or latent."
    twitch = data.get("twitch_response") or PalpationFinding.Twitch.NONE
    if twitch not in PalpationFinding.Twitch.values:
        errors["twitch_response"] = "The local twitch response is none, single or several."
    reproduces = data.get("reproduces_familiar_pain", False)
    if not isinstance(reproduces, bool):
        errors["reproduces_familiar_pain"] = "Say yes or no: does pressing it reproduce the familiar pain?"
    if errors or site is None:
        raise ValidationError(errors)
    return {
        "muscle_id": site.muscle.id,
        "side": site.side,
        "trigger_point": site.trigger_point,
        "status": status,
        "twitch_response": twitch,
        "reproduces_familiar_pain": reproduces,
    }


@transaction.atomic
def record_finding(membership: Membership, assessment_id: int, data: Mapping[str, Any]) -> PalpationFinding:
    """Record a trigger point found on palpation at an assessment.

    ``data``: ``muscle_id``, ``side`` (left/right), ``trigger_point`` (required where the muscle has several),
    ``status`` (active/latent), ``twitch_response`` (none/single/several), ``reproduces_familiar_pain``.
    The same trigger point on the same side recorded again replaces what was recorded before.
    """
    assessment = _locked_assessment(membership, assessment_id)
    values = _clean_finding(data)
    existing = PalpationFinding.objects.filter(
        assessment=assessment,
        muscle_id=values["muscle_id"],
        side=values["side"],
        trigger_point=values["trigger_point"],
        removed_at__isnull=True,
    ).first()
    if existing is not None:
        changed = [
            k for k in ("status", "twitch_response", "reproduces_familiar_pain") if getattr(existing, k) != values[k]
        ]
        if changed:
            for key in changed:
                setattr(existing, key, values[key])
            existing.recorded_by = membership
            existing.recorded_at = timezone.now()
            existing.save()
            audit.wrote(existing, created=False)
        return existing
    return audit.wrote(
        PalpationFinding.objects.create(
            clinic_id=assessment.clinic_id,
            patient_id=assessment.patient_id,
            assessment=assessment,
            recorded_by=membership,
            **values,
        ),
        created=True,
    )


@transaction.atomic
def remove_finding(membership: Membership, assessment_id: int, finding_id: int) -> PalpationFinding:
    """Strike out a finding recorded by mistake; the row stays, marked removed, for the record."""
    assessment = _locked_assessment(membership, assessment_id)
    finding = (
        PalpationFinding.objects.select_for_update(no_key=True).filter(assessment=assessment, pk=finding_id).first()
    )
    if finding is None:
        raise ValidationError(gettext("This finding is not part of this assessment."))
    if finding.removed_at is not None:
        raise ValidationError(gettext("This finding was already removed."))
    finding.removed_at = timezone.now()
    finding.removed_by = membership
    finding.save()
    return audit.wrote(finding, created=False)


def record_patient_drawing(
    episode: Episode, drawing: Any, *, client_address: str | None, user_agent: str
) -> PatientPainDrawing | None:
    """Store the patient's own pain drawing from a self-report link, in the caller's transaction (the link's
    submission owns it and names the patient as the actor). None when the patient marked nothing; a drawing
    naming an unknown region or a pain outside 0-10 raises ``ValidationError`` on ``drawing``."""
    cleaned = clean_drawing(drawing)
    if not cleaned:
        return None
    return audit.wrote(
        PatientPainDrawing.objects.create(
            clinic_id=episode.clinic_id,
            patient_id=episode.patient_id,
            episode=episode,
            drawing=cleaned,
            submitted_from=client_address,
            submitted_user_agent=user_agent,
        ),
        created=True,
    )


def latest_patient_drawing(episode: Episode) -> PatientPainDrawing | None:
    """The patient's most recent own drawing in the episode, or None."""
    return PatientPainDrawing.objects.filter(episode=episode).order_by("-drawn_at", "-pk").first()


def kept_drawing(posted: Mapping[str, Any]) -> dict[str, int | None]:
    """The valid regions of a posted drawing, so a refused form keeps what was painted."""
    kept: dict[str, int | None] = {}
    for code, value in posted.items():
        try:
            kept |= clean_drawing({code: value})
        except ValidationError:
            continue
    return kept
