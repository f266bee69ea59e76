"""What can go instead of a licensed questionnaire whose wording the clinic has not entered, in words: the
alternatives each instrument's data file offers (``alternatives`` in its JSON file; the PSFS, the headache diary),
told to whoever meets the licensed instrument: the send refusal, the plans page and its wording checklist.

Every offer comes with its caveats, as the data file has them: it is not an equivalent of the licensed instrument,
and where its validation in that instrument's condition was not found, the sentence says so. Each sentence is
translated whole: the data file's English texts (what an alternative measures, where it was validated) stay out
of the sentences, and the few fixed descriptions come from the translatable table below.

Reads the data files only; the caller says which questionnaires lack wording and what the plan holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from needlepoint.outcomes import diary
from needlepoint.outcomes.scoring import HEADACHE_DIARY, Alternative, instrument
from needlepoint.outcomes.wording import has_wording
from needlepoint.patients.models import Patient

# How a sentence names an offered instrument, keyed by its code; an instrument not listed is named by its code.
OFFER_LABELS = {"PSFS": gettext_lazy("the PSFS (patient-specific function)")}

# Why an offered alternative is not the licensed instrument's equivalent, keyed by what is offered: whole sentences
# with a form for one licensed instrument and one for several (``count``).
NOT_EQUIVALENT = {
    "PSFS": ngettext_lazy(
        "It is not an equivalent of %(instruments)s: it rates the activities the patient names, so its scores are "
        "not comparable with those of %(instruments)s.",
        "It is not an equivalent of %(instruments)s: it rates the activities the patient names, so its scores are "
        "not comparable with theirs.",
        "count",
    ),
    HEADACHE_DIARY: ngettext_lazy(
        "It is not an equivalent of %(instruments)s: it counts headache days, not their impact or the disability "
        "they cause.",
        "It is not an equivalent of %(instruments)s: it counts headache days, not their impact or the disability "
        "they cause.",
        "count",
    ),
}
OTHER_NOT_EQUIVALENT = ngettext_lazy(
    "It is not an equivalent of %(instruments)s.", "It is not an equivalent of %(instruments)s.", "count"
)


def _can_go(alt: Alternative, condition: str, language: str) -> bool:
    """Whether the offered alternative can go to a patient with ``condition`` reading ``language``: the diary
    only for the conditions that keep one (its pages speak every language the product does); an instrument only
    where its wording ships in that language."""
    if alt.offers == HEADACHE_DIARY:
        return diary.keeps_diary(condition)
    return alt.offers is not None and has_wording(alt.offers, language)


def _listed(codes: Sequence[str]) -> dict[str, str]:
    return {"instruments": ", ".join(codes)}


def _offer_sentence(key: str, codes: Sequence[str], in_plan: bool | None) -> str:
    """That the alternative can go instead of ``codes``: and, for the plan of a condition (``in_plan`` not None),
    whether it is in that plan already."""
    n = len(codes)
    if key == HEADACHE_DIARY:
        return ngettext(
            "The headache diary (headache days per 28 days) can be started instead of %(instruments)s, from the "
            "episode's outcomes page.",
            "The headache diary (headache days per 28 days) can be started instead of %(instruments)s, from the "
            "episode's outcomes page.",
            n,
        ) % _listed(codes)
    named = _listed(codes) | {"alternative": str(OFFER_LABELS.get(key, key))}
    if in_plan is None:
        sentence = ngettext(
            "Needlepoint ships %(alternative)s, which can be sent instead of %(instruments)s.",
            "Needlepoint ships %(alternative)s, which can be sent instead of %(instruments)s.",
            n,
        )
    elif in_plan:
        sentence = ngettext(
            "Needlepoint ships %(alternative)s, which can be sent instead of %(instruments)s: it is in this "
            "condition's plan.",
            "Needlepoint ships %(alternative)s, which can be sent instead of %(instruments)s: it is in this "
            "condition's plan.",
            n,
        )
    else:
        sentence = ngettext(
            "Needlepoint ships %(alternative)s, which can be sent instead of %(instruments)s once a clinic admin "
            "adds it to this condition's plan (Outcomes, Instruments).",
            "Needlepoint ships %(alternative)s, which can be sent instead of %(instruments)s once a clinic admin "
            "adds it to this condition's plan (Outcomes, Instruments).",
            n,
        )
    return sentence % named


def _caveats(key: str, alts: Sequence[tuple[str, Alternative]], name_languages: bool) -> list[str]:
    """The caveats on one offered alternative, for the licensed instruments it goes instead of (``alts``: each
    licensed code with the data file's entry): not an equivalent; its validation where it was not found; and, if
    asked, the patients' languages it has no wording in."""
    codes = [code for code, _ in alts]
    said = [NOT_EQUIVALENT.get(key, OTHER_NOT_EQUIVALENT) % (_listed(codes) | {"count": len(codes)})]
    unvalidated = [code for code, alt in alts if not alt.validation_found]
    if unvalidated:
        said.append(
            ngettext(
                "No validation of it was found in the patients %(instruments)s is meant for.",
                "No validation of it was found in the patients %(instruments)s are meant for.",
                len(unvalidated),
            )
            % _listed(unvalidated)
        )
    if name_languages and key != HEADACHE_DIARY:  # the diary's pages speak every language the product does
        lacking = [str(label) for code, label in Patient.Language.choices if not has_wording(key, code)]
        if lacking:
            said.append(
                ngettext(
                    "It has no wording in %(languages)s: it cannot go to a patient who reads that language.",
                    "It has no wording in %(languages)s: it cannot go to a patient who reads one of those languages.",
                    len(lacking),
                )
                % {"languages": ", ".join(lacking)}
            )
    return said


def instead_sentences(
    missing: Sequence[str], condition: str, plan: Sequence[str], language: str, *, name_languages: bool = False
) -> list[str]:
    """For the licensed questionnaires in ``missing`` (a patient with ``condition``, reading ``language``, cannot
    be given them), the sentences saying what can go instead, how, and its caveats (not an equivalent; its
    validation where none was found; with ``name_languages``, the languages it has no wording in); and one naming
    those for which nothing can go to this patient. Questionnaires that are not licensed (no alternatives in their
    data file) are left out."""
    instead: dict[str, list[tuple[str, Alternative]]] = {}
    nothing: list[str] = []
    for code in missing:
        block = instrument(code).alternatives
        if block is None:
            continue
        usable = [alt for alt in block.offered if _can_go(alt, condition, language) and alt.offers not in missing]
        if not usable:
            nothing.append(code)
        for alt in usable:
            instead.setdefault(alt.offers or alt.short, []).append((code, alt))
    sentences = []
    for key, alts in instead.items():
        codes = [code for code, _ in alts]
        in_plan = None if key == HEADACHE_DIARY else key in plan
        sentences.append(_offer_sentence(key, codes, in_plan))
        sentences.extend(_caveats(key, alts, name_languages))
    if nothing:
        sentences.append(
            ngettext(
                "Needlepoint ships no alternative to %(instruments)s that this patient can read.",
                "Needlepoint ships no alternative to %(instruments)s that this patient can read.",
                len(nothing),
            )
            % _listed(nothing)
        )
    return sentences


def offered_sentences(code: str) -> list[str]:
    """For the wording checklist: what can go instead of a licensed instrument, each offer with its caveats and
    the languages it has no wording in; empty for an instrument whose wording ships."""
    block = instrument(code).alternatives
    if block is None:
        return []
    said = []
    for alt in block.offered:
        key = alt.offers or alt.short
        said.append(_offer_sentence(key, [code], None))
        said.extend(_caveats(key, [(code, alt)], name_languages=True))
    return said


def examined_sentences(code: str) -> list[str]:
    """The other alternatives examined for a licensed instrument, by name, one sentence per verdict."""
    block = instrument(code).alternatives
    if block is None:
        return []
    refused = [alt.short for alt in block.examined if alt.verdict == "not shippable"]
    unclear = [alt.short for alt in block.examined if alt.verdict == "unclear"]
    said = []
    if refused:
        said.append(
            ngettext(
                "Also examined: %(instruments)s, which needs permission or a licence.",
                "Also examined: %(instruments)s, which need permission or a licence.",
                len(refused),
            )
            % _listed(refused)
        )
    if unclear:
        said.append(
            ngettext(
                "Also examined: %(instruments)s, whose terms were not found or are unclear.",
                "Also examined: %(instruments)s, whose terms were not found or are unclear.",
                len(unclear),
            )
            % _listed(unclear)
        )
    return said


def equivalent_found(code: str) -> bool:
    """Whether a freely usable, validated equivalent of the licensed instrument was found (the data file says)."""
    block = instrument(code).alternatives
    return block is not None and block.equivalent_found
