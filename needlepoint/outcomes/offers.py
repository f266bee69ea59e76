"""What can go instead of a licensed questionnaire whose wording the clinic has not entered, in words: the free
alternatives each instrument's data file offers (``alternatives`` in its JSON file; the PSFS, the headache
diary), told to whoever meets the licensed instrument: the send refusal, the plans page and its wording checklist.

Reads the data files only; the caller says which questionnaires lack wording and what the plan holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext

from needlepoint.outcomes import diary
from needlepoint.outcomes.scoring import HEADACHE_DIARY, Alternative, instrument
from needlepoint.outcomes.wording import has_wording


def _can_go(alt: Alternative, condition: str, language: str) -> bool:
    """Whether the offered alternative can go to a patient with ``condition`` reading ``language``: the diary
    only for the conditions that keep one (its pages speak every language the product does); an instrument only
    where its wording ships in that language."""
    if alt.offers == HEADACHE_DIARY:
        return diary.keeps_diary(condition)
    return alt.offers is not None and has_wording(alt.offers, language)


def instead_sentences(missing: Sequence[str], condition: str, plan: Sequence[str], language: str) -> list[str]:
    """For the licensed questionnaires in ``missing`` (a patient with ``condition``, reading ``language``, cannot
    be given them), one sentence per free alternative saying what can go instead and how; and one naming those
    for which nothing free can go to this patient. Questionnaires that are not licensed (no alternatives in their
    data file) are left out."""
    instead: dict[str, list[str]] = {}
    offered: dict[str, Alternative] = {}
    nothing: list[str] = []
    for code in missing:
        block = instrument(code).alternatives
        if block is None:
            continue
        usable = [alt for alt in block.offered if _can_go(alt, condition, language) and alt.offers not in missing]
        if not usable:
            nothing.append(code)
        for alt in usable:
            key = alt.offers or alt.short
            instead.setdefault(key, []).append(code)
            offered[key] = alt
    sentences = []
    for key, codes in instead.items():
        alt = offered[key]
        named = {"alternative": alt.short, "measures": alt.measures, "instruments": ", ".join(codes)}
        if key == HEADACHE_DIARY:
            sentence = gettext(
                "The headache diary (%(measures)s) can be started instead of %(instruments)s, from the episode's "
                "outcomes page."
            )
        elif key in plan:
            sentence = gettext(
                "%(alternative)s (%(measures)s) can be sent instead of %(instruments)s: it is free to use and in "
                "this condition's plan."
            )
        else:
            sentence = gettext(
                "%(alternative)s (%(measures)s) is free to use and can be sent instead of %(instruments)s once a "
                "clinic admin adds it to this condition's plan (Outcomes, Instruments)."
            )
        sentences.append(sentence % named)
    if nothing:
        sentences.append(
            gettext("Needlepoint ships no free alternative to %(instruments)s that this patient can read.")
            % {"instruments": ", ".join(nothing)}
        )
    return sentences


def offered_words(code: str) -> list[str]:
    """The free alternatives offered instead of a licensed instrument, each as "PSFS (patient-specific function)";
    empty for an instrument whose wording ships."""
    block = instrument(code).alternatives
    if block is None:
        return []
    return [
        gettext("%(alternative)s (%(measures)s)") % {"alternative": alt.short, "measures": alt.measures}
        for alt in block.offered
    ]


def examined_words(code: str) -> list[str]:
    """The other alternatives examined for a licensed instrument, each with its verdict in words."""
    block = instrument(code).alternatives
    if block is None:
        return []
    verdicts = {
        "not shippable": gettext("needs permission or a licence"),
        "unclear": gettext("terms not found or unclear"),
    }
    return [
        gettext("%(alternative)s: %(verdict)s") % {"alternative": alt.short, "verdict": verdicts[alt.verdict]}
        for alt in block.examined
        if alt.verdict != "offered"
    ]


def equivalent_found(code: str) -> bool:
    """Whether a freely usable, validated equivalent of the licensed instrument was found (the data file says)."""
    block = instrument(code).alternatives
    return block is not None and block.equivalent_found
