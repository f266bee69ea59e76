"""Phone numbers a text message can go to: normalised to international (E.164) form, or refused with the rule.

Pure module (no Django imports). E.164 (ITU-T Recommendation E.164) numbers are at most 15 digits, the country
code first; written with a leading '+'. The shortest number in use with its country code is about 8 digits, so
anything shorter is a typing slip, not a phone number.
"""

from __future__ import annotations

import re

MIN_DIGITS = 8
MAX_DIGITS = 15  # E.164's maximum, country code included
# What people type between the digits of a number and what the number means without them.
_SEPARATORS = re.compile(r"[\s\-.()/]")
_E164 = re.compile(rf"^\+[1-9]\d{{{MIN_DIGITS - 1},{MAX_DIGITS - 1}}}$")

RULE = (
    "A text message goes to a phone number in international form: '+', the country code and the number, "
    f"{MIN_DIGITS} to {MAX_DIGITS} digits in all, e.g. +1 555 201 3344 (spaces, dashes, dots and brackets are "
    "ignored, and a leading 00 counts as '+')."
)


class PhoneError(ValueError):
    """A number a text message cannot be sent to; the message states the rule."""


def normalise(text: str, default_country_code: str = "") -> str:
    """The number as '+' and digits, e.g. '+15552013344'; PhoneError when it is not a phone number.

    ``default_country_code`` (e.g. '+1' or '+34'), when the clinic sets one, completes a national number
    typed without a country code: a leading trunk '0' is dropped and the code put in front.
    """
    written = (text or "").strip()
    if not written:
        raise PhoneError("No mobile number on record. " + RULE)
    compact = _SEPARATORS.sub("", written)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not compact.startswith("+") and default_country_code and compact.isdigit():
        compact = default_country_code.strip() + (compact[1:] if compact.startswith("0") else compact)
    if not _E164.match(compact):
        raise PhoneError(f"'{written}' is not a phone number a text message can go to. {RULE}")
    return compact
