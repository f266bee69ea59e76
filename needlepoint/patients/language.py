"""The patient's language: what their pages, documents and messages are written in.

Patients reach their pages by a link, not by signing in, so the language comes from the patient's record
(``Patient.preferred_language``), never from the browser. Staff pages stay in the site's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils import formats, translation

from needlepoint.patients.models import Patient

ENGLISH, SPANISH = Patient.Language.ENGLISH.value, Patient.Language.SPANISH.value
LANGUAGES = (ENGLISH, SPANISH)


def language_of(patient: Patient | None) -> str:
    """The patient's language code ('en' or 'es'); English when there is no patient or no usable value."""
    code = getattr(patient, "preferred_language", "") or ENGLISH
    return code if code in LANGUAGES else ENGLISH


def chosen_language(code: str | None) -> str:
    """A language asked for by a page's ``lang`` parameter, if it is one of ours; else the site's language."""
    return code if code in LANGUAGES else settings.LANGUAGE_CODE.split("-")[0]


@contextmanager
def in_language(code: str) -> Iterator[None]:
    """Translate and format everything inside in ``code`` (a page, a message), then restore the language."""
    with translation.override(code):
        yield


def long_date(day: dt.date | dt.datetime) -> str:
    """A day as the active language writes it in full: '3 March 2026' or '3 de marzo de 2026'."""
    if translation.get_language() == SPANISH:
        return formats.date_format(day, r"j \d\e F \d\e Y")
    return formats.date_format(day, "j F Y")
