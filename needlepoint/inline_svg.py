"""SVG drawn on the server, made fit for a page under a strict Content-Security-Policy.

matplotlib writes each shape's look as a ``style="fill: ...; stroke: ..."`` attribute and puts one ``<style>`` rule
in the drawing; inline in a page, ``style-src 'self'`` refuses both and the plot would lose its colours. Every SVG
property matplotlib uses is also a presentation attribute (``fill="..."``), which no policy restricts, so each
declaration moves to an attribute of the same name. Plain Python, no Django.
"""

from __future__ import annotations

import logging
import re
from html import escape

log = logging.getLogger(__name__)

# The SVG 1.1 presentation attributes (SVG 1.1, section 6.4 and the property index).
PRESENTATION_ATTRIBUTES = frozenset(
    """
    alignment-baseline baseline-shift clip clip-path clip-rule color color-interpolation
    color-interpolation-filters color-profile color-rendering cursor direction display dominant-baseline
    enable-background fill fill-opacity fill-rule filter flood-color flood-opacity font-family font-size
    font-size-adjust font-stretch font-style font-variant font-weight glyph-orientation-horizontal
    glyph-orientation-vertical image-rendering kerning letter-spacing lighting-color marker-end marker-mid
    marker-start mask opacity overflow pointer-events shape-rendering stop-color stop-opacity stroke
    stroke-dasharray stroke-dashoffset stroke-linecap stroke-linejoin stroke-miterlimit stroke-opacity stroke-width
    text-anchor text-decoration text-rendering unicode-bidi visibility word-spacing writing-mode
    """.split()  # noqa: SIM905  (a list of 60 names reads better as words)
)

_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style>\s*", re.S)
_EVERYTHING_RULE = re.compile(r"^\s*\*\s*\{([^{}]*)\}\s*$")
_ROOT = re.compile(r"<svg\b")


def _attributes(declarations: str) -> str:
    """``fill: #fff; stroke-width: 0.8`` as `` fill="#fff" stroke-width="0.8"`` (unknown properties dropped)."""
    attributes = []
    for declaration in declarations.split(";"):
        name, colon, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not colon or not name:
            continue
        if name not in PRESENTATION_ATTRIBUTES:
            log.warning("SVG property %r has no presentation attribute; left out of the page's drawing", name)
            continue
        quoted = escape(value, quote=False).replace('"', "&quot;")  # font names keep their single quotes
        attributes.append(f' {name}="{quoted}"')
    return "".join(attributes)


def without_inline_styles(svg: str) -> str:
    """``svg`` with every ``style="..."`` turned into presentation attributes and its ``<style>`` rule removed.

    matplotlib's one rule, ``*{stroke-linejoin: round; stroke-linecap: butt}``, becomes attributes of the root
    ``<svg>``: both properties are inherited, and an element that sets its own keeps it, as it did with the rule.
    Any other rule raises ValueError: it could not be kept, and a drawing must not change silently.
    """
    inherited = ""
    for rule in _STYLE_ELEMENT.findall(svg):
        everything = _EVERYTHING_RULE.match(rule)
        if not everything:
            raise ValueError(f"an SVG <style> rule that cannot become attributes: {rule[:80]!r}")
        inherited += _attributes(everything.group(1))
    svg = _STYLE_ELEMENT.sub("", svg)
    svg = _STYLE_ATTRIBUTE.sub(lambda m: _attributes(m.group(1)), svg)
    return _ROOT.sub(lambda m: m.group(0) + inherited, svg, count=1)
