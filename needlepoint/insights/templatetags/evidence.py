"""Template filters that write the evidence report's numbers exactly as the PDF and the command line do."""

from __future__ import annotations

from django import template

from needlepoint.insights import formatting
from needlepoint.insights.stats import Estimate, Proportion, Rate

register = template.Library()


@register.filter
def share(value: Proportion | None) -> str:
    """A proportion with its n and 95% Wilson interval."""
    return formatting.share(value)


@register.filter
def mean(value: Estimate | None, unit: str = "") -> str:
    """A mean with its n and 95% interval."""
    return formatting.mean(value, unit)


@register.filter
def rate(value: Rate | None) -> str:
    """A rate per 1,000 visits with its 95% exact interval."""
    return formatting.rate(value)


@register.filter
def days(value: float | None) -> str:
    """Days, or 'not reached'."""
    return formatting.days(value)


@register.filter
def status_word(value: str) -> str:
    """A verdict status in words."""
    return formatting.STATUS_WORDS.get(value, value)


@register.filter
def status_badge(value: str) -> str:
    """The badge class (ok, bad, warn) of a verdict status."""
    return formatting.STATUS_BADGES.get(value, "info")


@register.filter
def claim_title(value: str) -> str:
    """The claim a verdict judges, in words."""
    return formatting.CLAIM_TITLES.get(value, value)


@register.filter
def claim_short(value: str) -> str:
    """The claim a verdict judges, in a word or two."""
    return formatting.CLAIM_SHORT.get(value, value)


@register.filter
def reason_short(value: str) -> str:
    """Why the verdict on a claim cannot show cause and effect, in a few words."""
    return formatting.REASON_SHORT.get(value, "")
