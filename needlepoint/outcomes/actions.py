"""Every write of outcome data: one function per action.

Each action owns its transaction, checks the invariants and records its audit entry (``audit.wrote``).
Bad input raises ``ValidationError`` with a message per field and
changes nothing. Views, the API, the self-report page and the command call these and nothing else to write.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from needlepoint.accounts import audit
from needlepoint.accounts.access import require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.atlas.actions import clean_drawing, record_patient_drawing
from needlepoint.outcomes import answers as answer_rules
from needlepoint.outcomes import diary, offers
from needlepoint.outcomes.due import ScheduleError, check_schedule
from needlepoint.outcomes.models import (
    ClinicInstrumentPlan,
    ClinicInstrumentWording,
    HeadacheDiaryEntry,
    Observation,
    RomMeasurement,
    SelfReportLink,
    Source,
    TimePoint,
)
from needlepoint.outcomes.plans import PAIN_INSTRUMENT, PlanError, check_plan, default_plans, is_self_reportable
from needlepoint.outcomes.rom import Movement, RomError, movements, percent_of_normal, validate_rom
from needlepoint.outcomes.scoring import Instrument, Score, ScoringError, instrument, score
from needlepoint.outcomes.wording import EnteredWording, WordingError, check_wording, has_wording
from needlepoint.patients.actions import refuse_if_deceased
from needlepoint.patients.conditions import conditions
from needlepoint.patients.language import in_language, language_of, long_date
from needlepoint.patients.models import Episode, Patient
from needlepoint.visits.models import Visit

LINK_SALT = "needlepoint.outcomes.self-report-link"
DEFAULT_LINK_DAYS = 7
MAX_LINK_DAYS = 30
DEFAULT_DIARY_DAYS = 84  # a baseline month and two months after it
MAX_DIARY_DAYS = 183
CLOCK_SKEW = timedelta(minutes=5)  # a device clock slightly ahead is not "the future"


# ---------------------------------------------------------------- instrument plans


def instruments_for(episode: Episode) -> tuple[str, ...]:
    """The questionnaires the episode's condition collects: the clinic's own plan, else the default."""
    plan = ClinicInstrumentPlan.objects.filter(clinic_id=episode.clinic_id, condition=episode.condition).first()
    return plan_or_default(plan, episode.condition)


def plan_or_default(plan: ClinicInstrumentPlan | None, condition: str) -> tuple[str, ...]:
    """A plan row's instruments, or the condition's default when the clinic has not chosen."""
    if plan is not None:
        return tuple(plan.instruments)
    return default_plans().get(condition, default_plans()["other"])


@transaction.atomic
def set_instrument_plan(
    membership: Membership, condition: str, codes: list[str], schedule: Mapping[str, Any] | None = None
) -> ClinicInstrumentPlan:
    """Set the questionnaires one condition collects in the membership's clinic (clinic admins), and, if given,
    when each is due (``due.check_schedule``; None keeps the plan's schedule, {} returns to the default)."""
    require(membership, Capability.CONFIGURE_CLINIC)
    if condition not in conditions():
        raise ValidationError({"condition": gettext("Choose a condition from the list.")})
    try:
        chosen = list(check_plan(codes))
    except PlanError as exc:
        raise ValidationError({"instruments": str(exc)}) from exc
    if schedule is not None:
        try:
            check_schedule(schedule, chosen)
        except ScheduleError as exc:
            raise ValidationError({"schedule": str(exc)}) from exc
    plan = (
        ClinicInstrumentPlan.objects.select_for_update(no_key=True)
        .filter(clinic_id=membership.clinic_id, condition=condition)
        .first()
    )
    if plan is None:
        plan = ClinicInstrumentPlan(clinic_id=membership.clinic_id, condition=condition)
    plan.instruments = chosen
    if schedule is not None:
        plan.schedule = dict(schedule)
    else:  # a kept schedule must not name an instrument the plan no longer collects
        plan.schedule = {code: rule for code, rule in (plan.schedule or {}).items() if code in chosen or code == "*"}
    plan.updated_by = membership
    plan.updated_at = timezone.now()
    created = plan.pk is None
    plan.save()
    return audit.wrote(plan, created=created)


# ---------------------------------------------------------------- a clinic's licensed wording


def current_wording_entry(clinic_id: int, code: str) -> ClinicInstrumentWording | None:
    """The clinic's current (latest) licensed wording entry for an instrument, or None if it entered none."""
    return (
        ClinicInstrumentWording.objects.filter(clinic_id=clinic_id, instrument=code.upper())
        .order_by("-version")
        .first()
    )


def current_wording(clinic_id: int, code: str) -> EnteredWording | None:
    """The clinic's current licensed wording for an instrument, for the forms; None means show topic labels."""
    entry = current_wording_entry(clinic_id, code)
    return EnteredWording.from_items(entry.items) if entry is not None else None


def missing_wording(link: SelfReportLink, language: str) -> list[str]:
    """The questionnaires on a link (today's pain included) that a patient reading ``language`` cannot be given:
    no shipped wording in that language (in English, none shipped and none entered by the clinic). A patient is
    never shown topic labels in place of the licensed statements."""
    codes = [*link.instruments, *([PAIN_INSTRUMENT] if link.include_pain else [])]
    return codes_without_wording(link.clinic_id, codes, language)


def codes_without_wording(clinic_id: int, codes: list[str], language: str) -> list[str]:
    """Of ``codes``, those without wording a patient reading ``language`` can be given (see ``has_wording``)."""
    entered = set(
        ClinicInstrumentWording.objects.filter(clinic_id=clinic_id, instrument__in=codes).values_list(
            "instrument", flat=True
        )
    )
    return [code for code in codes if not has_wording(code, language, entered=code in entered)]


def refuse_without_wording(episode: Episode, codes: list[str]) -> None:
    """Refuse (ValidationError, nothing stored) a link whose questionnaires the patient cannot read in their
    language; the message names them, what Needlepoint ships that can go instead (with its caveats), and what the
    clinic can do."""
    language = language_of(episode.patient)
    missing = codes_without_wording(episode.clinic_id, [*codes, PAIN_INSTRUMENT], language)
    if not missing:
        return
    if language == "en":
        # A patient never answers topic labels in place of the licensed statements: the clinic enters them first.
        why = gettext(
            "%(instruments)s has no wording here yet: its wording is licensed, and a clinic admin enters "
            "the clinic's licensed copy (Outcomes, Instruments) before it can go to a patient."
        ) % {"instruments": ", ".join(missing)}
    else:
        why = gettext(
            "%(patient)s reads %(language)s, and %(instruments)s has no validated wording in that language that "
            "Needlepoint may ship."
        ) % {
            "patient": episode.patient.full_name,
            "language": dict(Patient.Language.choices)[language],
            "instruments": ", ".join(missing),
        }
    # Say what can go instead: the alternatives the licensed questionnaires' data files offer, with their caveats.
    instead = offers.instead_sentences(missing, episode.condition, instruments_for(episode), language)
    why = " ".join([why, *instead])
    raise ValidationError(
        {
            "channel": gettext(
                "%(why)s Nothing was sent. Tick 'Only what the patient can read' to send the rest (today's "
                "pain and the pain drawing always go), and record the others in the clinic."
            )
            % {"why": why}
        },
        code="no_wording",
    )


@transaction.atomic
def enter_instrument_wording(
    membership: Membership, code: str, items: Mapping[str, Any], licence_reference: str
) -> ClinicInstrumentWording:
    """Enter the clinic's licensed wording for an instrument (clinic admins).

    The wording must fit the instrument exactly (see ``wording.check_wording``). A new version supersedes
    the clinic's previous one; earlier versions are kept, never overwritten. Recorded in the audit trail.
    """
    require(membership, Capability.CONFIGURE_CLINIC)
    try:
        defn = instrument(code)
    except ScoringError as exc:
        raise ValidationError({"instrument": gettext("%(code)s is not a known instrument.") % {"code": code}}) from exc
    problems: dict[str, str] = {}
    reference = str(licence_reference or "").strip()
    if not reference:
        problems["licence_reference"] = gettext("Enter your licence number or agreement reference for this instrument.")
    elif len(reference) > 200:
        problems["licence_reference"] = "The licence reference is longer than 200 characters."
    try:
        cleaned = check_wording(defn, items)
    except WordingError as exc:
        problems.update({key or "items": reason for key, reason in exc.problems.items()})
    if problems:
        raise ValidationError(problems)
    # lock the clinic's rows for this instrument so two admins saving at once get consecutive versions
    latest = (
        ClinicInstrumentWording.objects.select_for_update(no_key=True)
        .filter(clinic_id=membership.clinic_id, instrument=defn.code)
        .order_by("-version")
        .first()
    )
    try:
        with transaction.atomic():  # the first entry has no row to lock: the unique version decides
            entry = ClinicInstrumentWording.objects.create(
                clinic_id=membership.clinic_id,
                instrument=defn.code,
                version=(latest.version + 1) if latest else 1,
                items=cleaned,
                licence_reference=reference,
                entered_by=membership,
                entered_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise ValidationError(
            gettext("Someone else saved this wording at the same moment; reload and try again.")
        ) from exc
    audit.record("update", entry, summary=entry.audit_summary())
    return entry


# ---------------------------------------------------------------- shared checks


def _same_clinic(membership: Membership, obj: Any) -> None:
    """Defence in depth: an object fetched elsewhere must still belong to the acting clinic."""
    if obj.clinic_id != membership.clinic_id:
        raise ValidationError(gettext("This record belongs to another clinic."))


def _episode_start(episode: Episode) -> date:
    return timezone.localdate(episode.opened_at)


def _check_moment(episode: Episode, observed_at: datetime | None) -> datetime:
    """The moment of a measure: now if not given; never in the future, never before the episode opened, never after
    the patient's recorded date of death."""
    if observed_at is None:
        return _check_alive_on(episode, timezone.now())
    if not isinstance(observed_at, datetime):
        raise ValidationError({"observed_on": gettext("Enter the date the measure was taken.")})
    if timezone.is_naive(observed_at):
        observed_at = timezone.make_aware(observed_at)
    if observed_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"observed_on": gettext("The date cannot be in the future.")})
    start = _episode_start(episode)
    if timezone.localdate(observed_at) < start:
        raise ValidationError(
            {
                "observed_on": gettext("The date is before this episode of care was opened (%(day)s).")
                % {"day": f"{start:%Y-%m-%d}"}
            }
        )
    return _check_alive_on(episode, observed_at)


def _check_alive_on(episode: Episode, moment: datetime) -> datetime:
    """A measure dated after the patient's recorded date of death is refused. Decided by the measure's date, not by
    whether a death is recorded: a death recorded today must not stop a clinician entering a score taken before it
    (or on the day of death, whose hour is not recorded). With the date of death not known, nothing can be compared,
    so the measure is taken; the chart already shows the patient as deceased."""
    patient = episode.patient
    died = patient.deceased_date if patient.deceased else None
    if died is not None and timezone.localdate(moment) > died:
        raise ValidationError(
            {
                "observed_on": gettext(
                    "%(patient)s is recorded as deceased on %(died)s; a measure dated %(day)s cannot have been "
                    "taken. Enter the date it was taken."
                )
                % {
                    "patient": patient.full_name,
                    "died": f"{died:%Y-%m-%d}",
                    "day": f"{timezone.localdate(moment):%Y-%m-%d}",
                }
            }
        )
    return moment


def _check_time_point(time_point: str) -> str:
    if time_point not in TimePoint.values:
        raise ValidationError({"time_point": gettext("Choose baseline, re-assessment, discharge or visit.")})
    return time_point


def _check_visit(episode: Episode, visit: Visit | None) -> Visit | None:
    if visit is not None and visit.episode_id != episode.pk:
        raise ValidationError({"visit": gettext("That visit belongs to another episode of care.")})
    return visit


def _scored(
    code: str, given: Mapping[str, Any], notes: Mapping[str, Any] | None, prefix: str = ""
) -> tuple[Instrument, Score, dict[str, Any], dict[str, str]]:
    """Score answers keyed by item id; ValidationError keyed by item (or 'answers') on any problem."""
    try:
        defn = instrument(code)
    except ScoringError as exc:
        raise ValidationError({"instrument": exc.reason}) from exc
    try:
        ordered = answer_rules.in_item_order(defn, given)
        cleaned_notes = answer_rules.clean_notes(defn, notes)
    except answer_rules.AnswerError as exc:
        raise ValidationError({prefix + (k or "answers"): v for k, v in exc.problems.items()}) from exc
    try:
        result = score(defn.code, ordered)
    except ScoringError as exc:
        field = prefix + (exc.item if exc.item is not None and given.get(exc.item) is not None else "answers")
        raise ValidationError({field: exc.reason[:1].upper() + exc.reason[1:] + "."}) from exc
    stored = {item.id: value for item, value in zip(defn.items, ordered, strict=True)}
    return defn, result, stored, cleaned_notes


# ---------------------------------------------------------------- questionnaires and pain


@transaction.atomic
def record_questionnaire(
    membership: Membership,
    episode: Episode,
    instrument_code: str,
    answers: Mapping[str, Any],
    *,
    time_point: str,
    observed_at: datetime | None = None,
    item_notes: Mapping[str, Any] | None = None,
    visit: Visit | None = None,
    source: str = Source.CLINICIAN,
) -> Observation:
    """Score and store one questionnaire (or a 0-10 pain rating, instrument NPRS) for an episode.

    ``answers`` maps item id to the answer as the form prints it (``answers.read_answer``: the value printed
    beside a choice, or its label; the number of a 0-N item; the measured value); ``source`` is 'patient' when
    staff enter a form the patient filled in on paper.
    """
    require(membership, Capability.EDIT_CLINICAL)
    _same_clinic(membership, episode)
    _check_time_point(time_point)
    if source not in Source.values:
        raise ValidationError({"source": gettext("Choose clinician or patient-reported.")})
    moment = _check_moment(episode, observed_at)
    _check_visit(episode, visit)
    defn, result, stored, notes = _scored(instrument_code, answers, item_notes)
    return audit.wrote(
        Observation.objects.create(
            clinic_id=episode.clinic_id,
            patient_id=episode.patient_id,
            episode=episode,
            visit=visit,
            instrument=defn.code,
            value=result.total,
            unit=result.unit,
            subscales=result.subscales,
            answers=stored,
            item_notes=notes,
            observed_at=moment,
            observed_on=timezone.localdate(moment),
            time_point=time_point,
            source=source,
            recorded_by=membership,
        ),
        created=True,
    )


def record_pain(
    membership: Membership,
    episode: Episode,
    pain: int,
    *,
    time_point: str,
    observed_at: datetime | None = None,
    visit: Visit | None = None,
) -> Observation:
    """Store a 0-10 pain rating (NPRS) taken outside a visit's own before/after ratings."""
    return record_questionnaire(
        membership,
        episode,
        PAIN_INSTRUMENT,
        {"pain": pain},
        time_point=time_point,
        observed_at=observed_at,
        visit=visit,
    )


# ---------------------------------------------------------------- range of motion


def _rom_movement(joint: str, movement: str) -> Movement:
    for move in movements():
        if move.joint == joint and move.movement == movement:
            return move
    raise ValidationError({"movement": gettext("Choose a joint and movement from the list.")})


@transaction.atomic
def record_rom(
    membership: Membership,
    episode: Episode,
    *,
    joint: str,
    movement: str,
    side: str | None,
    degrees: float,
    method: str,
    time_point: str,
    observed_at: datetime | None = None,
    visit: Visit | None = None,
) -> RomMeasurement:
    """Store one range-of-motion measurement with its percent of the normal value."""
    require(membership, Capability.EDIT_CLINICAL)
    _same_clinic(membership, episode)
    _check_time_point(time_point)
    moment = _check_moment(episode, observed_at)
    _check_visit(episode, visit)
    move = _rom_movement(joint, movement)
    side = side or None
    errors: dict[str, str] = {}
    if move.sided and side not in ("left", "right"):
        errors["side"] = f"{move.label} is measured per side: choose left or right."
    elif not move.sided and side is not None:
        errors["side"] = f"{move.label} of the {joint.replace('_', ' ')} has no side; leave the side empty."
    if method not in move.methods:
        errors["method"] = f"Use one of: {', '.join(move.methods)}."
    if errors:
        raise ValidationError(errors)
    try:
        value = validate_rom(joint, movement, degrees, side=side, method=method)
    except RomError as exc:
        raise ValidationError({"degrees": str(exc)[:1].upper() + str(exc)[1:] + "."}) from exc
    percent = percent_of_normal(joint, movement, value) if move.normal else None
    return audit.wrote(
        RomMeasurement.objects.create(
            clinic_id=episode.clinic_id,
            patient_id=episode.patient_id,
            episode=episode,
            visit=visit,
            joint=joint,
            movement=movement,
            side=side or "",
            degrees=value,
            method=method,
            normal_degrees=move.normal,
            percent_of_normal=percent,
            observed_at=moment,
            observed_on=timezone.localdate(moment),
            time_point=time_point,
            recorded_by=membership,
        ),
        created=True,
    )


# ---------------------------------------------------------------- self-report links


@dataclass(frozen=True)
class IssuedLink:
    """A new self-report link and its tokens: the long signed token and the short link's token, returned once
    and never stored."""

    link: SelfReportLink
    token: str
    short: str = ""


class LinkRefused(Exception):
    """A self-report link cannot be used; ``reason`` is 'invalid', 'expired', 'used', 'cancelled', 'inactive' (the
    patient is recorded as deceased; the page does not say so) or 'wrong_kind'.

    ``message`` is in the patient's language (``language``); an invalid link names no patient, so its language
    is None and the page says it in every language the product speaks.
    """

    def __init__(self, reason: str, message: str, language: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.language = language


def link_days() -> int:
    """How many days a new self-report link stays valid (setting SELF_REPORT_LINK_DAYS, default 7)."""
    return int(getattr(settings, "SELF_REPORT_LINK_DAYS", DEFAULT_LINK_DAYS))


def suggested_time_point(episode: Episode) -> str:
    """Baseline if the episode has no baseline questionnaire yet, discharge once discharged, else re-assessment."""
    if episode.status == Episode.Status.DISCHARGED:
        return TimePoint.DISCHARGE
    has_baseline = (
        Observation.objects.filter(episode=episode, time_point=TimePoint.BASELINE)
        .exclude(instrument=PAIN_INSTRUMENT)
        .exists()
    )
    return TimePoint.REASSESSMENT if has_baseline else TimePoint.BASELINE


@transaction.atomic
def create_self_report_link(
    membership: Membership,
    episode: Episode,
    *,
    time_point: str | None = None,
    days: int | None = None,
    readable_only: bool = False,
    summary: str | None = None,
) -> IssuedLink:
    """Create a one-time link for the episode's questionnaires and today's pain; returns the token once.

    Front desk may send links (it reads nothing clinical by doing so); the link asks the questionnaires the
    clinic's plan sets for the episode's condition, leaving out measurements only a clinician can take.
    A questionnaire without wording in the patient's language refuses the link (``refuse_without_wording``),
    unless ``readable_only`` asks to leave such questionnaires out. ``summary`` is the audit entry's, where the
    caller knows better (how the link was sent).
    """
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    _same_clinic(membership, episode)
    time_point = time_point or suggested_time_point(episode)
    if time_point not in (TimePoint.BASELINE, TimePoint.REASSESSMENT, TimePoint.DISCHARGE):
        raise ValidationError({"time_point": gettext("Choose baseline, re-assessment or discharge.")})
    days = link_days() if days is None else days
    if not isinstance(days, int) or not 1 <= days <= MAX_LINK_DAYS:
        raise ValidationError(
            {"days": gettext("A link can stay valid for 1 to %(days)s days.") % {"days": MAX_LINK_DAYS}}
        )
    codes = [c for c in instruments_for(episode) if is_self_reportable(instrument(c))]
    if readable_only:
        unreadable = codes_without_wording(episode.clinic_id, codes, language_of(episode.patient))
        codes = [c for c in codes if c not in unreadable]
    refuse_without_wording(episode, codes)
    return issue_link(membership, episode, codes, time_point, timezone.now() + timedelta(days=days), summary=summary)


def issue_link(
    membership: Membership,
    episode: Episode,
    codes: list[str],
    time_point: str,
    expires_at: datetime,
    replaces: SelfReportLink | None = None,
    *,
    summary: str | None = None,
) -> IssuedLink:
    """Store a new link (hashes only) and return its long and short tokens; the caller has checked the role,
    the clinic and the questionnaires, and holds the transaction. Refused for a patient recorded as deceased.
    The audit entry says ``summary`` if given (how the link was sent), else what the link's own summary says."""
    refuse_if_deceased(episode.patient, gettext("no questionnaire link is sent."))
    secret = secrets.token_urlsafe(32)
    short = new_short_token()
    link = audit.wrote(
        SelfReportLink.objects.create(
            clinic_id=episode.clinic_id,
            patient_id=episode.patient_id,
            episode=episode,
            instruments=codes,
            include_pain=True,
            time_point=time_point,
            token_hash=SelfReportLink.hash_token(secret),
            short_hash=SelfReportLink.hash_token(short),
            created_by=membership,
            expires_at=expires_at,
            replaces=replaces,
        ),
        created=True,
        summary=summary,
    )
    token = signing.dumps({"l": link.pk, "s": secret, "e": int(expires_at.timestamp())}, salt=LINK_SALT)
    return IssuedLink(link, token, short)


SHORT_TOKEN_LENGTH = 22  # 16 random bytes (128 bits) in URL-safe base64


def new_short_token() -> str:
    """A short link's token: 22 URL-safe characters, unguessable (128 random bits)."""
    return secrets.token_urlsafe(16)


def is_short_token(token: str) -> bool:
    """Whether a token has the short link's form (the long signed token always holds a ':')."""
    return len(token) == SHORT_TOKEN_LENGTH and all(c.isalnum() or c in "-_" for c in token)


INVALID_LINK = (
    "This link is not valid. It may have been copied incompletely or changed. Ask the clinic to send you a new link."
)


def invalid_link_message() -> str:
    """The refusal of a link that names no patient, in the active language."""
    return _(
        "This link is not valid. It may have been copied incompletely or changed. "
        "Ask the clinic to send you a new link."
    )


def _link_for(token: str, *, for_update: bool = False) -> SelfReportLink:
    """The link a token (long or short) names, after checking its signature or secret, that it was not
    cancelled, its expiry and that it is unused. A refusal speaks the patient's language."""
    queryset = SelfReportLink.objects.select_related("clinic", "episode", "patient")
    if for_update:
        queryset = queryset.select_for_update(no_key=True, of=("self",))
    if is_short_token(token):
        # The hash is the lookup key; an unknown token finds no row.
        link = queryset.filter(short_hash=SelfReportLink.hash_token(token)).first()
        if link is None:
            raise LinkRefused(gettext("invalid"), INVALID_LINK)
        expires = int(link.expires_at.timestamp())
    else:
        try:
            payload = signing.loads(token, salt=LINK_SALT)
            link_id, secret, expires = int(payload["l"]), str(payload["s"]), int(payload["e"])
        except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
            raise LinkRefused(gettext("invalid"), INVALID_LINK) from exc
        link = queryset.filter(pk=link_id).first()
        if link is None or not secrets.compare_digest(link.token_hash, SelfReportLink.hash_token(secret)):
            raise LinkRefused(gettext("invalid"), INVALID_LINK)
    language = language_of(link.patient)
    with in_language(language):
        if link.patient.deceased:
            # Read by the family as often as not: the link stops, and the page says no more than that.
            raise LinkRefused(gettext("inactive"), _("This link is no longer active."), language)
        if link.cancelled_at is not None:
            raise LinkRefused(
                gettext("cancelled"),
                _("The clinic cancelled this link on %(day)s. Ask the clinic for a new link if you still need one.")
                % {"day": long_date(timezone.localtime(link.cancelled_at))},
                language,
            )
        # A diary link is used every day; only a questionnaire link is spent by its answers.
        if link.kind == SelfReportLink.Kind.QUESTIONNAIRE and link.used_at is not None:
            raise LinkRefused(
                gettext("used"),
                _(
                    "This link was already used on %(day)s, and your answers reached the clinic. "
                    "Each link works once; ask the clinic if you need to answer again."
                )
                % {"day": long_date(timezone.localtime(link.used_at))},
                language,
            )
        if timezone.now() >= link.expires_at or timezone.now().timestamp() >= expires:
            raise LinkRefused(
                gettext("expired"),
                _("This link expired on %(day)s. Ask the clinic to send you a new link.")
                % {"day": long_date(timezone.localtime(link.expires_at))},
                language,
            )
    return link


def wrong_kind(link: SelfReportLink) -> LinkRefused:
    """The refusal of a diary link used as a questionnaire link, or the reverse, in the patient's language."""
    language = language_of(link.patient)
    with in_language(language):
        if link.kind == SelfReportLink.Kind.DIARY:
            return LinkRefused(
                gettext("wrong_kind"), _("This link opens a headache diary, not a questionnaire."), language
            )
        return LinkRefused(gettext("wrong_kind"), _("This link opens a questionnaire, not a headache diary."), language)


def diary_words(exc: diary.DiaryError) -> dict[str, str]:
    """A diary refusal's messages in the active language (dates written out in it)."""
    said = {}
    for field, (template, values) in exc.wording.items():
        shown = {k: long_date(v) if isinstance(v, date) else v for k, v in values.items()}
        said[field] = _(template) % shown if shown else _(template)
    return said


def open_self_report_link(token: str, client_address: str | None = None) -> SelfReportLink:
    """The link for a token the patient opened (recorded in the audit trail); LinkRefused if unusable."""
    link = _link_for(token)
    with audit.event(_link_actor(link, client_address)):
        audit.record("read", link, summary="self-report link opened")
    return link


def _printable(text: str) -> str:
    """Header text without control characters (a user agent is the client's to choose)."""
    return "".join(ch for ch in text if ch.isprintable())


def _link_actor(link: SelfReportLink, client_address: str | None) -> audit.Actor:
    return audit.Actor(None, link.clinic_id, "link", client_address, f"patient via link {link.pk}")


@transaction.atomic
def submit_self_report(
    token: str,
    answers: Mapping[str, Mapping[str, Any]],
    *,
    pain: int | None,
    notes: Mapping[str, Mapping[str, Any]] | None = None,
    client_address: str | None = None,
    user_agent: str = "",
    drawing: Mapping[str, Any] | None = None,
) -> list[Observation]:
    """Store the patient's answers from a link as patient-reported observations, and use the link up.

    The link keeps the address and device (user agent) the answers came from, as evidence of who sent them.
    ``drawing``: the patient's own pain drawing ({region code: 0-10 or None}), optional; stored with the same
    address and device and tied to the link (error key ``drawing``).

    All or nothing: every questionnaire on the link and today's pain must be answerable, or nothing is
    stored and the link stays usable. Marking the link used happens in the same transaction, so one link
    can never deliver two sets of answers. ValidationError keys are ``CODE-item`` (or ``CODE-answers``).
    """
    link = _link_for(token, for_update=True)
    if link.kind != SelfReportLink.Kind.QUESTIONNAIRE:
        raise wrong_kind(link)
    errors: dict[str, list[str]] = {}
    scored = []
    for code in link.instruments:
        try:
            scored.append(_scored(code, answers.get(code) or {}, (notes or {}).get(code), prefix=f"{code}-"))
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if link.include_pain:
        try:
            scored.append(_scored(PAIN_INSTRUMENT, {"pain": pain}, None, prefix=f"{PAIN_INSTRUMENT}-"))
        except ValidationError:
            errors.setdefault(f"{PAIN_INSTRUMENT}-pain", []).append("Choose a number from 0 to 10 for today's pain.")
    try:
        clean_drawing(drawing or {})
    except ValidationError as exc:
        errors.setdefault("drawing", []).extend(exc.message_dict.get("drawing", exc.messages))
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    device = _printable(user_agent)[: SelfReportLink.USER_AGENT_LENGTH]
    with audit.event(_link_actor(link, client_address)):
        link.pain_drawing = record_patient_drawing(
            link.episode, drawing or {}, client_address=client_address, user_agent=device
        )
        created = [
            audit.wrote(
                Observation.objects.create(
                    clinic_id=link.clinic_id,
                    patient_id=link.patient_id,
                    episode_id=link.episode_id,
                    instrument=defn.code,
                    value=result.total,
                    unit=result.unit,
                    subscales=result.subscales,
                    answers=stored,
                    item_notes=item_notes,
                    observed_at=now,
                    observed_on=timezone.localdate(now),
                    time_point=link.time_point,
                    source=Source.PATIENT,
                    self_report_link=link,
                ),
                created=True,
            )
            for defn, result, stored, item_notes in scored
        ]
        link.used_at = now
        link.submitted_from = client_address
        link.submitted_user_agent = device
        link.save()
        audit.wrote(link, created=False)
    return created


# ---------------------------------------------------------------- headache diary


@transaction.atomic
def create_diary_link(membership: Membership, episode: Episode, *, days: int | None = None) -> IssuedLink:
    """Create a headache-diary link for a migraine or tension-type headache episode; returns the token once.

    The link is used every day until it expires or is cancelled. Every diary link of an episode writes the same
    diary, which starts on the day the episode's first diary link was created.
    """
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    _same_clinic(membership, episode)
    refuse_if_deceased(episode.patient, gettext("no diary link is sent."))
    if not diary.keeps_diary(episode.condition):
        raise ValidationError(
            {"episode": gettext("A headache diary is kept for migraine and tension-type headache only.")}
        )
    if episode.status != Episode.Status.OPEN:
        raise ValidationError(
            {"episode": gettext("This episode of care is discharged: open a new one for a new diary.")}
        )
    days = DEFAULT_DIARY_DAYS if days is None else days
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DIARY_DAYS:
        raise ValidationError(
            {"days": gettext("A diary link can stay valid for 1 to %(days)s days.") % {"days": MAX_DIARY_DAYS}}
        )
    secret = secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=days)
    link = audit.wrote(
        SelfReportLink.objects.create(
            clinic_id=episode.clinic_id,
            patient_id=episode.patient_id,
            episode=episode,
            kind=SelfReportLink.Kind.DIARY,
            instruments=[],
            include_pain=False,
            time_point=TimePoint.VISIT,
            token_hash=SelfReportLink.hash_token(secret),
            created_by=membership,
            expires_at=expires_at,
        ),
        created=True,
    )
    token = signing.dumps({"l": link.pk, "s": secret, "e": int(expires_at.timestamp())}, salt=LINK_SALT)
    return IssuedLink(link, token)


@transaction.atomic
def cancel_link(membership: Membership, link: SelfReportLink) -> SelfReportLink:
    """Cancel a link the patient has not finished with: it opens nothing from now on (answers already given stay)."""
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    link = SelfReportLink.objects.select_for_update(no_key=True).get(pk=link.pk)
    _same_clinic(membership, link)
    status = link.status()
    if status != "open":
        raise ValidationError(
            {"link": gettext("This link is already %(status)s; there is nothing to cancel.") % {"status": status}}
        )
    link.cancelled_at = timezone.now()
    link.cancelled_by = membership
    link.save()
    return audit.wrote(link, created=False)


def diary_start(episode_id: int) -> date | None:
    """The diary's first day: the day the episode's first diary link was created (None if it has none)."""
    first = (
        SelfReportLink.objects.filter(episode_id=episode_id, kind=SelfReportLink.Kind.DIARY)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return timezone.localdate(first) if first else None


def open_diary_link(token: str) -> SelfReportLink:
    """The diary link a token names; LinkRefused if it is unusable or opens a questionnaire instead."""
    link = _link_for(token)
    if link.kind != SelfReportLink.Kind.DIARY:
        raise wrong_kind(link)
    return link


@transaction.atomic
def record_diary_day(
    token: str,
    day: date,
    *,
    headache: bool | None,
    worst_intensity: Any = None,
    hours: Any = None,
    acute_medication: bool | None,
    client_address: str | None = None,
    user_agent: str = "",
) -> HeadacheDiaryEntry:
    """Store one day of the patient's headache diary from a diary link.

    Refused with a reason (ValidationError keyed by field) and nothing stored: a future day, a day before the
    diary began, a day more than two days late, a past day already written, or inconsistent answers. Today's
    entry may be rewritten today: the row is updated in place (an update in the audit trail) and the answers it
    replaces are kept in ``replaced``.
    """
    link = _link_for(token, for_update=True)
    if link.kind != SelfReportLink.Kind.DIARY:
        raise wrong_kind(link)
    if not isinstance(day, date) or isinstance(day, datetime):
        raise ValidationError({"day": _("Choose the day you are filling in.")})
    try:
        values = diary.check_day(headache, worst_intensity, hours, acute_medication)
    except diary.DiaryError as exc:
        raise ValidationError(diary_words(exc)) from exc
    start = diary_start(link.episode_id) or timezone.localdate(link.created_at)
    existing = (
        HeadacheDiaryEntry.objects.select_for_update(no_key=True).filter(episode_id=link.episode_id, day=day).first()
    )
    try:
        diary.check_day_allowed(day, timezone.localdate(), start, existing is not None)
    except diary.DiaryError as exc:
        raise ValidationError(diary_words(exc)) from exc
    is_headache, intensity, duration, medication = values
    address, device = client_address, _printable(user_agent)[: SelfReportLink.USER_AGENT_LENGTH]
    with audit.event(_link_actor(link, client_address)):
        if existing is None:
            try:
                with transaction.atomic():
                    return audit.wrote(
                        HeadacheDiaryEntry.objects.create(
                            clinic_id=link.clinic_id,
                            patient_id=link.patient_id,
                            episode_id=link.episode_id,
                            link=link,
                            day=day,
                            headache=is_headache,
                            worst_intensity=intensity,
                            hours=duration,
                            acute_medication=medication,
                            submitted_from=address,
                            submitted_user_agent=device,
                        ),
                        created=True,
                    )
            except IntegrityError as exc:  # the same day sent twice at once: the second is refused
                raise ValidationError(
                    {"day": _("This day was just saved from another page; reload to see it.")}
                ) from exc
        existing.replaced = [*existing.replaced, _diary_values(existing)]
        existing.link = link
        existing.headache, existing.worst_intensity, existing.hours = is_headache, intensity, duration
        existing.acute_medication = medication
        existing.recorded_at = timezone.now()
        existing.submitted_from, existing.submitted_user_agent = address, device
        existing.save()
        return audit.wrote(existing, created=False)


def _diary_values(entry: HeadacheDiaryEntry) -> dict[str, Any]:
    """An entry's answers as kept when a same-day change replaces them."""
    return {
        "headache": entry.headache,
        "worst_intensity": entry.worst_intensity,
        "hours": entry.hours,
        "acute_medication": entry.acute_medication,
        "recorded_at": entry.recorded_at.isoformat(),
    }
