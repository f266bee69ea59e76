"""Password rules beyond Django's own: no contextual words, no predictable season-and-year or repeated patterns.

Django's validators (configured in settings) refuse passwords like the user's names, short ones and the
20,000 most common; these two add what a guesser at a clinic tries next: the clinic's and the product's name,
"Summer2026!"-style words with a number, and runs of one or two characters.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

if TYPE_CHECKING:
    from needlepoint.accounts.models import User

# Words anyone who knows the clinic's software would try first.
PRODUCT_WORDS = ("needlepoint", "dryneedling", "needling", "password", "passwort", "welcome")
SEASONS_AND_MONTHS = (
    "spring", "summer", "autumn", "fall", "winter",
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)  # fmt: skip
MIN_DISTINCT_CHARACTERS = 5


def _letters_only(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _clinic_words(user: User | None) -> list[str]:
    """The names and short names of every clinic here (a user is often checked before their membership exists)."""
    from needlepoint.accounts.models import Clinic

    words: list[str] = []
    for name, slug in Clinic.objects.values_list("name", "slug"):
        words.append(_letters_only(name))
        words.append(_letters_only(slug))
        words.extend(w for w in re.split(r"[^a-z]+", name.lower()) if len(w) >= 5)
    return [w for w in words if len(w) >= 4]


class ContextualPasswordValidator:
    """Refuses a password containing the product's name, a clinic's name or the username."""

    def validate(self, password: str, user: User | None = None) -> None:
        """Raise ValidationError if the password contains a word a guesser at this clinic would try."""
        letters = _letters_only(password)
        words = list(PRODUCT_WORDS) + _clinic_words(user)
        if user is not None and len(_letters_only(user.username)) >= 4:
            words.append(_letters_only(user.username))
        for word in words:
            if word and word in letters:
                raise ValidationError(
                    gettext(
                        "The password contains a word others could guess (the clinic's, the software's or your name)."
                    ),
                    code="password_contextual",
                )

    def get_help_text(self) -> str:
        """What this rule asks of a password."""
        return "It must not contain the clinic's name, the software's name or your username."


class PredictablePasswordValidator:
    """Refuses a season, month or weekday with a number ("Summer2026!") and runs of few characters."""

    def validate(self, password: str, user: User | None = None) -> None:
        """Raise ValidationError if the password follows a pattern guessers try early."""
        if len(set(password.lower())) < MIN_DISTINCT_CHARACTERS:
            raise ValidationError(
                gettext("The password uses fewer than %(count)s different characters.")
                % {"count": MIN_DISTINCT_CHARACTERS},
                code="password_repetitive",
            )
        if _letters_only(password) in SEASONS_AND_MONTHS:
            raise ValidationError(
                gettext("A season, month or weekday with numbers or symbols is among the first passwords guessed."),
                code="password_predictable",
            )

    def get_help_text(self) -> str:
        """What this rule asks of a password."""
        return "It must not be a season, month or weekday with a number, nor repeat a few characters."
