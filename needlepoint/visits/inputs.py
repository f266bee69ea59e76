"""What each write of a visit takes, defined once: the page's forms and the API's schemas are built from these
models, so both edges refuse the same input with the same message on the same field, and the actions receive a
value that is already valid (they check only what needs the database: the visit unsigned, its version, the
clinic, the counts against what was inserted, the safety gates).

Every value is read by a ``before`` validator that accepts what a form posts (text) and what JSON carries
(numbers, strings, null) and refuses anything else with a clinician's message (error type ``REFUSED``); pydantic's
own type errors never reach a user. ``parse`` turns the refusals into Django's ``ValidationError`` by field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

import pydantic
from django.core.exceptions import ValidationError
from django.utils import timezone
from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from needlepoint.atlas.catalogue import MuscleSiteError, check_side, find_muscle, trigger_point_of
from needlepoint.inputs import whole_number
from needlepoint.visits import adverse_events, clinic_safety, needles
from needlepoint.visits.models import (
    CLOSING_OUTCOMES,
    LEFT_IN_TECHNIQUES,
    Intervention,
    Outcome,
    Technique,
    TwitchResponse,
)

# The error type of a value our rules refuse (as opposed to a body that does not match the schema at all).
REFUSED = "refused"
# A visit's clock may run a little ahead of the server's; further ahead is a typing mistake.
FUTURE_TOLERANCE = timedelta(minutes=15)
MAX_NEEDLES_PER_ENTRY = 50
MAX_MINUTES_LEFT_IN = 120
NEEDLE_INCIDENT_TYPE = "needle_left_in"
TEXT_LIMITS = {"subjective": 5000, "interventions_other": 200, "assessment": 5000, "plan": 5000}

Model = TypeVar("Model", bound=BaseModel)


def refused(message: str) -> PydanticCustomError:
    """A refusal with the clinician's message, on the field being validated."""
    return PydanticCustomError(REFUSED, message)


def field_errors(exc: pydantic.ValidationError) -> dict[str, list[str]]:
    """Each field's messages from a pydantic error (a whole-model problem goes on ``__all__``)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "__all__"
        errors.setdefault(field, []).append(error["msg"])
    return errors


def parse(model: type[Model], raw: Mapping[str, Any]) -> Model:
    """``raw`` read by ``model``; ``ValidationError`` by field (the same messages the API answers) otherwise."""
    try:
        return model.model_validate(dict(raw))
    except pydantic.ValidationError as exc:
        raise ValidationError(field_errors(exc)) from None


# --- reading one value ---------------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def whole_count(value: Any) -> int | None:
    """A whole number from a form's text or JSON's number; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        return whole_number(value)
    return None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or _blank(value) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _moment(value: Any, message: str) -> datetime:
    """A date and time (an ISO text as the browser's picker and JSON send it); a time without a zone is the
    clinic's local time."""
    if isinstance(value, str) and value.strip():
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise refused(message) from None
    if not isinstance(value, datetime):
        raise refused(message)
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _day(value: Any, message: str) -> date:
    if isinstance(value, str) and value.strip():
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise refused(message) from None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise refused(message)
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _choice(value: Any, choices: Any, message: str) -> str:
    if value not in choices:
        raise refused(message)
    return str(value)


def _not_in_the_past(day: date, message: str) -> date:
    if day < timezone.localdate():
        raise refused(message)
    return day


# --- one needling entry --------------------------------------------------------------------------------------


class NeedlingEntryInput(BaseModel):
    """One muscle needled: where (a muscle of the atlas, a side, one of its trigger points), how many needles of
    which stocked size, the technique, the twitch, the minutes left in and the patient's response."""

    muscle_id: str
    side: str
    trigger_point: str = Field("", validate_default=True, description="Blank for a muscle with one trigger point")
    needles: int
    diameter_mm: Decimal
    length_mm: Decimal
    technique: str
    twitch_response: str
    minutes_left_in: int | None = Field(None, validate_default=True, description="Needed for static and e-stim")
    patient_response: str = ""

    @field_validator("muscle_id", mode="before")
    @classmethod
    def _muscle(cls, value: Any) -> str:
        try:
            return find_muscle(value).id
        except MuscleSiteError as exc:
            raise refused(exc.problems["muscle_id"]) from None

    @field_validator("side", mode="before")
    @classmethod
    def _side(cls, value: Any) -> str:
        try:
            return check_side(value)
        except MuscleSiteError as exc:
            raise refused(exc.problems["side"]) from None

    @field_validator("trigger_point", mode="before")
    @classmethod
    def _trigger_point(cls, value: Any, info: ValidationInfo) -> str:
        if "muscle_id" not in info.data:
            return _text(value)  # the muscle is refused already; its trigger points cannot be checked
        try:
            return trigger_point_of(find_muscle(info.data["muscle_id"]), value)
        except MuscleSiteError as exc:
            raise refused(exc.problems["trigger_point"]) from None

    @field_validator("needles", mode="before")
    @classmethod
    def _needles(cls, value: Any) -> int:
        count = whole_count(value)
        if count is None:
            raise refused("Enter how many needles were inserted.")
        if count < 1:
            raise refused("At least one needle is inserted in a needling entry (zero or negative is not a count).")
        if count > MAX_NEEDLES_PER_ENTRY:
            raise refused(f"More than {MAX_NEEDLES_PER_ENTRY} needles in one muscle; check the count.")
        return count

    @field_validator("diameter_mm", mode="before")
    @classmethod
    def _diameter(cls, value: Any) -> Decimal:
        diameter = _decimal(value)
        if diameter is None:
            raise refused("Choose the needle gauge from the clinic's stock.")
        problem = needles.diameter_problem(diameter)
        if problem is not None:
            raise refused(problem.message)
        return diameter

    @field_validator("length_mm", mode="before")
    @classmethod
    def _length(cls, value: Any) -> Decimal:
        length = _decimal(value)
        if length is None:
            raise refused("Choose the needle length from the clinic's stock.")
        problem = needles.length_problem(length)
        if problem is not None:
            raise refused(problem.message)
        return length

    @field_validator("technique", mode="before")
    @classmethod
    def _technique(cls, value: Any) -> str:
        return _choice(value, Technique.values, "Choose static, pistoning, rotation or electrical stimulation.")

    @field_validator("twitch_response", mode="before")
    @classmethod
    def _twitch(cls, value: Any) -> str:
        return _choice(value, TwitchResponse.values, "Choose none, single or several local twitch responses.")

    @field_validator("minutes_left_in", mode="before")
    @classmethod
    def _minutes(cls, value: Any, info: ValidationInfo) -> int | None:
        if _blank(value):
            if info.data.get("technique") in LEFT_IN_TECHNIQUES:
                raise refused("Enter how many minutes the needles were left in.")
            return None
        minutes = whole_count(value)
        if minutes is None or not 1 <= minutes <= MAX_MINUTES_LEFT_IN:
            raise refused(f"Time left in is a whole number of minutes from 1 to {MAX_MINUTES_LEFT_IN}.")
        return minutes

    @field_validator("patient_response", mode="before")
    @classmethod
    def _response(cls, value: Any) -> str:
        text = _text(value)
        if len(text) > 300:
            raise refused("Keep the patient's response under 300 characters.")
        return text

    def entry_fields(self) -> dict[str, Any]:
        """The values as the ``NeedlingEntry`` row stores them."""
        return self.model_dump(include=set(NeedlingEntryInput.model_fields))


# --- needle counts -------------------------------------------------------------------------------------------


def _count(value: Any, info: ValidationInfo) -> int:
    name = str(info.field_name).replace("_", " ")
    count = whole_count(value)
    if count is None:
        raise refused(f"Enter the needles {name} as a whole number.")
    if count < 0:
        raise refused(f"Needles {name} cannot be negative ({count}).")
    return count


Count = Annotated[int, BeforeValidator(_count)]


class NeedleCountsInput(BaseModel):
    """Needles opened, removed and put in sharps at the end of the visit (inserted comes from the entries)."""

    opened: Count
    removed: Count
    in_sharps: Count


# --- the visit's details, its start and its signing ---------------------------------------------------------


def _pain(value: Any) -> int | None:
    if _blank(value):
        return None
    pain = whole_count(value)
    if pain is None or not 0 <= pain <= 10:
        raise refused("Pain is a whole number from 0 to 10.")
    return pain


def _limited(value: Any, info: ValidationInfo) -> str:
    text = _text(value)
    limit = TEXT_LIMITS[str(info.field_name)]
    if len(text) > limit:
        raise refused(f"Keep this under {limit} characters.")
    return text


Pain = Annotated[int | None, BeforeValidator(_pain)]
LimitedText = Annotated[str | None, BeforeValidator(_limited)]


class SignInput(BaseModel):
    """The pain scores and free text as they stand on the clinician's page when the visit is signed (and what
    the draft autosave sends); only the fields given change."""

    pain_before: Pain = None
    pain_after: Pain = None
    subjective: LimitedText = None
    assessment: LimitedText = None
    plan: LimitedText = None

    def given(self) -> dict[str, Any]:
        """The fields the clinician sent, with their values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class VisitDetailsInput(SignInput):
    """A visit's date and time, pain scores, report, other interventions, assessment and plan; only the fields
    given change."""

    started_at: datetime | None = None
    interventions: list[str] | None = None
    interventions_other: LimitedText = None

    @field_validator("started_at", mode="before")
    @classmethod
    def _started_at(cls, value: Any) -> datetime | None:
        if value is None:
            return None  # not given (JSON null): now for a new visit, unchanged for an edit
        moment = _moment(value, "Enter the date and time of the visit.")
        if moment > timezone.now() + FUTURE_TOLERANCE:
            raise refused("The visit cannot be dated in the future.")
        return moment

    @field_validator("interventions", mode="before")
    @classmethod
    def _interventions(cls, value: Any) -> list[str]:
        codes = list(dict.fromkeys(value or [])) if isinstance(value, list | tuple) else [value]
        unknown = [str(c) for c in codes if c not in Intervention.values]
        if unknown:
            raise refused(f"Unknown intervention {', '.join(unknown)}.")
        return [str(c) for c in codes]


class StartVisitInput(VisitDetailsInput):
    """A new visit: its details (now when no time is given), and whether it starts from the previous visit's
    needling (never a silent default)."""

    copy_previous: bool = False


def details_of(data: SignInput | Mapping[str, Any], model: type[SignInput] = VisitDetailsInput) -> SignInput:
    """``data`` as a details input: already one, or read by ``model`` (callers inside the package that hold a
    plain mapping, such as the demo and the tests)."""
    return data if isinstance(data, SignInput) else parse(model, data)


# --- adverse events ------------------------------------------------------------------------------------------


class AdverseEventInput(BaseModel):
    """An adverse event after a visit: type and severity from the catalogue, what happened, when it began, the
    action taken, the outcome so far, the follow-up date while it is open, and for a fainting the after-care."""

    event_type: str
    severity: str
    description: str = Field("", validate_default=True)
    onset_at: datetime
    action_taken: str
    outcome: str
    follow_up_due: date | None = Field(None, validate_default=True)
    observed_minutes: int | None = Field(None, validate_default=True)
    driving_advice_given: bool = Field(False, validate_default=True)

    @field_validator("event_type", mode="before")
    @classmethod
    def _event_type(cls, value: Any) -> str:
        code = _text(value)
        if code == NEEDLE_INCIDENT_TYPE:
            raise refused("Record a needle unaccounted for with the needle count form of the visit.")
        if code not in {t.code for t in adverse_events.adverse_event_types()}:
            raise refused(f"Unknown adverse-event type {code!r}.")
        return code

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: Any, info: ValidationInfo) -> str:
        severity = _text(value)
        try:
            adverse_events.validate_adverse_event(str(info.data.get("event_type", "other")), severity, "-")
        except adverse_events.AdverseEventError as exc:
            if "event_type" in info.data:
                raise refused(" ".join(exc.problems)) from None
        return severity

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, value: Any, info: ValidationInfo) -> str:
        text = _text(value)
        kinds = {t.code: t for t in adverse_events.adverse_event_types()}
        kind = kinds.get(str(info.data.get("event_type")))
        if kind is not None and kind.requires_description and not text:
            raise refused(f"{kind.label} needs a description of what happened.")
        return text

    @field_validator("onset_at", mode="before")
    @classmethod
    def _onset(cls, value: Any) -> datetime:
        onset = _moment(value, "Enter when the event began.")
        if onset > timezone.now() + FUTURE_TOLERANCE:
            raise refused("The onset cannot be in the future.")
        return onset

    @field_validator("action_taken", mode="before")
    @classmethod
    def _action(cls, value: Any) -> str:
        if _blank(value):
            raise refused("Describe the action taken (or 'none needed').")
        return _text(value)

    @field_validator("outcome", mode="before")
    @classmethod
    def _outcome(cls, value: Any) -> str:
        return _choice(value, Outcome.values, "Choose the outcome so far.")

    @field_validator("follow_up_due", mode="before")
    @classmethod
    def _follow_up(cls, value: Any, info: ValidationInfo) -> date | None:
        if info.data.get("outcome") in CLOSING_OUTCOMES or "outcome" not in info.data:
            return None if _blank(value) else _day(value, "Enter the follow-up date.")
        due = _day(value, "An event that has not resolved needs a follow-up date.")
        return _not_in_the_past(due, "The follow-up date cannot be in the past.")

    @field_validator("observed_minutes", mode="before")
    @classmethod
    def _observed(cls, value: Any, info: ValidationInfo) -> int | None:
        if not _fainting(info):
            if not _blank(value):
                raise refused("Observation and driving advice are recorded for a fainting event only.")
            return None
        minutes = None if _blank(value) else whole_count(value)
        problem = clinic_safety.vasovagal_minutes_problem(minutes)
        if problem:
            raise refused(problem)
        return minutes

    @field_validator("driving_advice_given", mode="before")
    @classmethod
    def _advice(cls, value: Any, info: ValidationInfo) -> bool:
        given = value is True or (isinstance(value, str) and value.lower() in ("on", "true", "1", "yes"))
        if not _fainting(info):
            if given:
                raise refused("Observation and driving advice are recorded for a fainting event only.")
            return False
        problem = clinic_safety.driving_advice_problem(given)
        if problem:
            raise refused(problem)
        return True


def _fainting(info: ValidationInfo) -> bool:
    return info.data.get("event_type") == clinic_safety.packaged().vasovagal.event_type
