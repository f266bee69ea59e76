"""Server-drawn SVG under a strict policy: matplotlib's style attributes and its one <style> rule become presentation
attributes, so a plot keeps its colours inline in a page that refuses inline styles."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from needlepoint.inline_svg import without_inline_styles

MATPLOTLIB_LIKE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<defs><style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style></defs>'
    '<path d="M 0 0 L 1 1" clip-path="url(#c)" style="fill: none; stroke: #1f6f8b; stroke-width: 0.8"/>'
    "<text style=\"font-size: 9px; font-family: 'DejaVu Sans', sans-serif; text-anchor: end; fill: #5b6b7c\">7</text>"
    "</svg>"
)


def test_each_declaration_becomes_an_attribute_of_the_same_name() -> None:
    svg = without_inline_styles(MATPLOTLIB_LIKE)
    root = ET.fromstring(svg)
    path, text = root.iter("{http://www.w3.org/2000/svg}path"), root.iter("{http://www.w3.org/2000/svg}text")
    path, text = next(path), next(text)

    assert " style=" not in svg and "<style" not in svg
    assert path.attrib == {
        "d": "M 0 0 L 1 1",
        "clip-path": "url(#c)",
        "fill": "none",
        "stroke": "#1f6f8b",
        "stroke-width": "0.8",
    }
    assert text.get("font-family") == "'DejaVu Sans', sans-serif"
    assert (text.get("font-size"), text.get("text-anchor"), text.get("fill")) == ("9px", "end", "#5b6b7c")


def test_the_everything_rule_moves_to_the_root_where_both_properties_are_inherited() -> None:
    root = ET.fromstring(without_inline_styles(MATPLOTLIB_LIKE))

    assert (root.get("stroke-linejoin"), root.get("stroke-linecap")) == ("round", "butt")


def test_a_rule_that_cannot_become_attributes_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot become attributes"):
        without_inline_styles('<svg><style>.a{fill: red}</style><path class="a"/></svg>')


def test_a_real_plot_has_no_style_left_and_is_well_formed(db) -> None:
    from needlepoint.outcomes import plots

    fig, ax = plots._figure(7.5, 2.6)
    ax.plot([1, 2, 3], [3, 1, 2], marker="o", linestyle="--", label="NDI")
    ax.fill_between([1, 2, 3], [0, 0, 0], [1, 1, 1], alpha=0.2)
    ax.legend()
    ax.text(1, 1, "bold", fontweight="bold", fontstyle="italic")

    svg = plots.svg_of(fig, "A plot")

    assert " style=" not in svg and "<style" not in svg
    root = ET.fromstring(svg)  # a duplicated attribute would make this fail
    assert root.get("aria-label") == "A plot"
    assert 'font-weight="700"' in svg and 'fill-opacity="0.2"' in svg and 'stroke-dasharray="' in svg
