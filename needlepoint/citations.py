"""Citations a reader can follow: the references page and the template filters that link a key to it.

The filters are template builtins (settings TEMPLATES "builtins"), so any template may write
``{{ warning.message|cite }}`` (bracketed citations in prose) or ``{{ item.source|cite_source }}`` (a source
field such as "S14, S20" or "S64 Kamper SJ et al. ...") without loading a library.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from needlepoint.references import BRACKETED, KEY_IN_TEXT, is_key_list, references, sort_key

register = template.Library()


def reference_link(key: str) -> str:
    """A link from ``key`` to its full reference, or the key as plain text when the file lacks it."""
    ref = references().get(key)
    if ref is None:
        return conditional_escape(key)
    return format_html(
        '<a class="cite" href="{}#{}" title="{}">{}</a>', reverse("references"), ref.anchor, ref.short, key
    )


def _link_keys(escaped: str) -> str:
    # Keys contain only letters and digits, so they survive HTML escaping unchanged and can be matched after it.
    return KEY_IN_TEXT.sub(lambda m: reference_link(m.group(0)), escaped)


@register.filter(is_safe=True)
def cite(text: object) -> SafeString:
    """Prose with each bracketed citation ("[S14]", "[S14, S20]") linked; a bare key list is linked whole.

    Keys outside brackets stay text: in prose "T12" may be a vertebra and "S1" a spinal level.
    """
    escaped = str(conditional_escape("" if text is None else str(text)))
    if is_key_list(escaped):
        return mark_safe(_link_keys(escaped))
    return mark_safe(BRACKETED.sub(lambda m: _link_keys(m.group(0)), escaped))


@register.filter(is_safe=True)
def cite_source(value: object) -> SafeString:
    """A source field ("S14, S20", "S64 Kamper SJ et al. ...", or a list of them) with every key linked."""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    escaped = str(conditional_escape("" if value is None else str(value)))
    return mark_safe(_link_keys(escaped))


def sorted_keys(keys: Iterable[str]) -> list[str]:
    """Keys in the order the references page lists them."""
    return sorted(set(keys), key=sort_key)


def references_page(request: HttpRequest) -> HttpResponse:
    """Every reference the product cites, one anchor per key (/references/#S14); public, like the handout."""
    refs = [references()[key] for key in sorted_keys(references())]
    groups = [
        ("Clinical reference (S keys)", [r for r in refs if r.key.startswith("S")]),
        ("Trigger-point sources (T keys)", [r for r in refs if r.key.startswith("T")]),
        ("Atlas additions (EXT keys)", [r for r in refs if r.key.startswith("EXT")]),
    ]
    secondary = sum(1 for r in refs if r.secondary)
    return render(request, "references.html", {"groups": groups, "count": len(refs), "secondary_count": secondary})


__all__ = ["cite", "cite_source", "reference_link", "references_page", "register", "sorted_keys"]
