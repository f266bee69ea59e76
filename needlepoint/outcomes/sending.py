"""Sending self-report links to the patient: by e-mail, by text message, or shown once to hand over; cancelling
and re-sending them. One function per action, as in ``actions``.

Each action owns its transaction and checks the patient's contact preference before anything is stored: a
refused send (opted out, a channel the patient declined, no address, a number that is not a phone number)
raises ``ValidationError`` with a message front desk can act on and leaves nothing behind. The message is
recorded (``LinkMessage``) and then sent inside the same transaction, so a provider's failure rolls the
record back too. The messages name the clinic, never the questionnaires or the condition.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from needlepoint import phones, sms
from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.outcomes import actions
from needlepoint.outcomes.models import LinkMessage, SelfReportLink
from needlepoint.patients.actions import refuse_if_deceased
from needlepoint.patients.language import in_language, language_of, long_date
from needlepoint.patients.models import Episode, Patient
from needlepoint.scheduling.actions import links_by
from needlepoint.scheduling.models import ContactPreference
from needlepoint.visits import aftercare
from needlepoint.visits.models import AfterCareGiven

EMAIL, SMS, HAND_OVER = LinkMessage.Channel.EMAIL.value, LinkMessage.Channel.SMS.value, "copy"
CHANNELS = (EMAIL, SMS, HAND_OVER)
SHORT_LINK_MAX = 40  # characters, scheme and host included: fits a text message beside its words


@dataclass(frozen=True)
class SentLink:
    """A link just issued and how it went out: ``message`` is None when it is handed over by hand."""

    issued: actions.IssuedLink
    message: LinkMessage | None
    short_url: str


def short_url(short: str, host_base: str) -> str:
    """The short link: SHORT_LINK_BASE (or, unset, the host the page was opened on), '/r/' and the token."""
    base = (getattr(settings, "SHORT_LINK_BASE", "") or host_base).rstrip("/")
    return base + reverse("self_report_short", args=[short])


def channel_problem(patient: Patient, channel: str, wanted: str, what: str = "questionnaire links") -> str | None:
    """Why a message cannot go to the patient this way, or None when it may. ``wanted``: the patient's links_by
    (their preference for messages from the clinic); ``what``: the message, as the refusal names it."""
    name = patient.full_name
    if channel not in CHANNELS:
        return "Choose how the link goes out: by e-mail, by text message, or shown here to hand over."
    if channel == HAND_OVER:
        return None
    if wanted == ContactPreference.LinksBy.NONE:
        return (
            f"{name} has asked not to receive {what}; nothing was sent. Hand it to the patient in the clinic, "
            "or record a new preference if they change their mind."
        )
    if wanted in (EMAIL, SMS) and channel != wanted:
        how = "e-mail" if wanted == EMAIL else "text message"
        return f"{name} wants {what} by {how} only; nothing was sent. Send it by {how}."
    if channel == EMAIL and not patient.email:
        return f"{name} has no e-mail address on record; nothing was sent."
    return None


def _number(patient: Patient) -> str:
    """The patient's number in E.164 form, or a ValidationError stating the rule."""
    try:
        return phones.normalise(patient.phone, getattr(settings, "SMS_DEFAULT_COUNTRY_CODE", ""))
    except phones.PhoneError as exc:
        raise ValidationError({"channel": str(exc)}, code="bad_phone") from exc


def message_text(link: SelfReportLink, url: str) -> tuple[str, str, str]:
    """Subject and body of the e-mail, and the text message, in the patient's language: the clinic, the link
    and its expiry only."""
    with in_language(language_of(link.patient)):
        words = {
            "clinic": link.clinic.name,
            "day": long_date(timezone.localtime(link.expires_at)),
            "url": url,
            "name": link.patient.given_name,
        }
        subject = _("%(clinic)s: a few questions about how you are doing") % words
        body = (
            _(
                "Dear %(name)s,\n\n"
                "%(clinic)s asks you to answer a few short questions about how you are doing. It takes a few "
                "minutes on a phone or computer, without signing in:\n\n%(url)s\n\n"
                "The link works once, until %(day)s. If you did not expect this message, please tell the clinic.\n"
            )
            % words
        )
        text = (
            _(
                "%(clinic)s: please answer a few short questions about how you are doing: %(url)s "
                "(works once, until %(day)s)"
            )
            % words
        )
    return subject, body, text


def _deliver(membership: Membership | None, issued: actions.IssuedLink, channel: str, url: str) -> LinkMessage | None:
    """Record the message and send it, in the caller's transaction; a refused send raises and stores nothing."""
    if channel == HAND_OVER:
        return None
    link = issued.link
    to = link.patient.email if channel == EMAIL else _number(link.patient)
    message = audit.wrote(
        LinkMessage.objects.create(
            clinic_id=link.clinic_id,
            patient_id=link.patient_id,
            link=link,
            channel=channel,
            sent_to=to,
            sent_by=membership,
        ),
        created=True,
    )
    _transmit(channel, to, *message_text(link, url))
    return message


def _transmit(channel: str, to: str, subject: str, body: str, text: str) -> None:
    """Send one message by e-mail (subject and body) or text message (text); a refusal raises ValidationError,
    so the caller's transaction rolls back whatever recorded the sending."""
    try:
        if channel == EMAIL:
            EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [to]).send(fail_silently=False)
        else:
            sms.send_text(to, text)
    except (OSError, smtplib.SMTPException) as exc:  # the provider's or mail server's refusal rolls it all back
        if channel == EMAIL:
            said = gettext(
                "The e-mail could not be sent (%(error)s); nothing was stored. Try again, or choose another way."
            )
        else:
            said = gettext(
                "The text message could not be sent (%(error)s); nothing was stored. Try again, or choose another way."
            )
        raise ValidationError(
            {"channel": said % {"error": exc}},
            code="send_failed",
        ) from exc


def _summary(channel: str, patient: Patient, verb: str = "sent") -> str:
    how = {EMAIL: f"by e-mail to {patient.email}", SMS: f"by text message to {patient.phone}"}.get(
        channel, "to hand over"
    )
    return f"self-report link {verb} {how}"


def _check_channel(patient: Patient, channel: str, what: str = "questionnaire links") -> None:
    problem = channel_problem(patient, channel, links_by(patient), what)
    if problem:
        raise ValidationError({"channel": problem}, code="not_sent")
    if channel == SMS:
        _number(patient)


def send_self_report_link(
    membership: Membership,
    episode: Episode,
    channel: str,
    host_base: str,
    *,
    time_point: str | None = None,
    days: int | None = None,
    readable_only: bool = False,
) -> SentLink:
    """Issue a link for the episode's questionnaires and send it by e-mail or text (or show it to hand over).

    Refused, with nothing stored, when the patient opted out of links, wants the other channel, or has no
    usable address or number, or a questionnaire has no wording in the patient's language (unless
    ``readable_only`` leaves those out). The audit trail's one entry for the event names the channel and the
    address.
    """
    require(membership, Capability.EDIT_DEMOGRAPHICS)  # outside the transaction: a refusal stays in the audit trail
    if episode.clinic_id != membership.clinic_id:  # defence in depth: the episode was fetched by the caller
        raise ValidationError(gettext("This record belongs to another clinic."))
    _check_channel(episode.patient, channel)
    with audit.within_event(), transaction.atomic():
        issued = actions.create_self_report_link(
            membership,
            episode,
            time_point=time_point,
            days=days,
            readable_only=readable_only,
            summary=_summary(channel, episode.patient),
        )
        url = short_url(issued.short, host_base)
        return SentLink(issued, _deliver(membership, issued, channel, url), url)


def _locked_link(membership: Membership, patient_id: Any, link_id: Any) -> SelfReportLink:
    return get_record(
        membership,
        # Questionnaire links only: a headache-diary link is started and cancelled from the progress page.
        SelfReportLink.objects.select_related("patient", "clinic", "episode").filter(
            kind=SelfReportLink.Kind.QUESTIONNAIRE
        ),
        link_id,
        Capability.EDIT_DEMOGRAPHICS,
        patient_id=patient_id,
        for_update=True,
    )


def _cancel_for_resend(link: SelfReportLink, membership: Membership, summary: str) -> None:
    """Cancel the link a re-send replaces: an open, expired or already cancelled one, never an answered one.
    ``summary`` is the audit entry's (the re-send)."""
    if link.used_at is not None:
        raise ValidationError(
            gettext(
                "This link was answered on %(date)s; an answered link cannot be "
                "cancelled or re-sent. Send a new link if the patient is to answer again."
            )
            % {"date": f"{timezone.localtime(link.used_at):%d %B %Y}"},
            code="used",
        )
    if link.cancelled_at is None:
        link.cancelled_at = timezone.now()
        link.cancelled_by = membership
        link.save(update_fields=["cancelled_at", "cancelled_by"])
        audit.wrote(link, created=False, summary=summary)


def cancel_self_report_link(membership: Membership, patient_id: Any, link_id: Any) -> SelfReportLink:
    """Stop one of the patient's open questionnaire links from working, in its long and its short form."""
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    with transaction.atomic():
        return actions.cancel_link(membership, _locked_link(membership, patient_id, link_id))


def resend_self_report_link(
    membership: Membership, patient_id: Any, link_id: Any, channel: str, host_base: str
) -> SentLink:
    """Cancel a link and send a fresh one in its place: new tokens, the same questionnaires and time point,
    valid for the usual number of days from now. Refused, changing nothing, if the old link was answered or
    the patient's preference does not allow the channel."""
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    with audit.within_event(), transaction.atomic():
        old = _locked_link(membership, patient_id, link_id)
        newer = SelfReportLink.objects.filter(replaces=old).only("created_at").first()
        if newer is not None:
            # The row lock makes a double click wait here and then find the first click's link.
            raise ValidationError(
                gettext("This link was already re-sent on %(when)s; re-send the newer link instead.")
                % {"when": f"{timezone.localtime(newer.created_at):%d %B %Y %H:%M}"},
                code="already_resent",
            )
        _check_channel(old.patient, channel)
        actions.refuse_without_wording(old.episode, list(old.instruments))
        summary = _summary(channel, old.patient, f"re-sent (in place of link {old.pk})")
        _cancel_for_resend(old, membership, summary)
        expires_at = timezone.now() + timedelta(days=actions.link_days())
        issued = actions.issue_link(
            membership, old.episode, list(old.instruments), old.time_point, expires_at, old, summary=summary
        )
        url = short_url(issued.short, host_base)
        return SentLink(issued, _deliver(membership, issued, channel, url), url)


AFTER_CARE = "after-care advice"


def send_after_care(membership: Membership, visit_id: Any, channel: str) -> AfterCareGiven:
    """Send a needling visit's after-care sheet by e-mail or text message, and record on the visit that it was
    given (how, to where, when, by whom); or, for ``printed``, only record that it was handed over.

    The patient's contact preference applies as for links: refused, with nothing stored, when they opted out,
    want the other channel, or have no usable address or number.
    """
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    if channel == AfterCareGiven.How.PRINTED:
        return aftercare.record_after_care_printed(membership, visit_id)
    if channel not in (EMAIL, SMS):
        raise ValidationError(
            {"channel": gettext("Choose how the after-care sheet is given: by e-mail, by text message, or printed.")},
            code="not_sent",
        )
    with audit.within_event(), transaction.atomic():
        visit = aftercare.needled_visit(membership, visit_id, for_update=True)
        refuse_if_deceased(visit.patient, gettext("no after-care sheet is sent."))
        _check_channel(visit.patient, channel, AFTER_CARE)
        to = visit.patient.email if channel == EMAIL else _number(visit.patient)
        given = aftercare.record_after_care(membership, visit, channel, to)
        _transmit(channel, to, *aftercare.after_care_message(visit))
        return given


def send_scheduled_link(
    clinician: Membership, episode: Episode, codes: list[str], time_point: str, channel: str, host_base: str
) -> SentLink | None:
    """Send a link for the questionnaires the schedule makes due (``needlepoint outcomes send-due``).

    The link is issued in the name of the episode's clinician and the message records no sender (the command
    sent it). Under the episode's lock it re-checks the links still out: None, sending nothing, when another
    run already sent any of these instruments. Refused like a front-desk send (opted out, no address).
    """
    _check_channel(episode.patient, channel)
    actions.refuse_without_wording(episode, list(codes))
    expires_at = timezone.now() + timedelta(days=actions.link_days())
    actor = audit.Actor(None, episode.clinic_id, "cli", None, "needlepoint outcomes send-due")
    with audit.event(actor), transaction.atomic():
        Episode.objects.select_for_update(no_key=True).filter(pk=episode.pk).first()
        out = SelfReportLink.objects.filter(
            episode=episode,
            kind=SelfReportLink.Kind.QUESTIONNAIRE,
            used_at__isnull=True,
            cancelled_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).values_list("instruments", flat=True)
        if any(set(codes) & set(listed) for listed in out):
            return None
        summary = _summary(channel, episode.patient, "sent on schedule")
        issued = actions.issue_link(clinician, episode, list(codes), time_point, expires_at, summary=summary)
        url = short_url(issued.short, host_base)
        return SentLink(issued, _deliver(None, issued, channel, url), url)
