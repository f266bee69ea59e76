"""Every word a person reads on a page is marked for translation.

Each template under needlepoint/ is cut up with Django's own template lexer. What is left once the template's
tags, variables, comments, translation blocks, scripts, styles and <code> (commands, identifiers) are taken out is
the text a person reads: the text between HTML tags and the attributes a person reads or hears (title, placeholder,
aria-label, alt, the value of a button, an hx-confirm question). Any word in it, other than the few on
ALLOWED_WORDS, is a string that never reaches the catalogue, so this test names it. A literal passed to the
|default or |yesno filter is text too and must be written _("...").

Marked is not enough: a sentence cut into several messages cannot be translated (word order differs across
languages), and |pluralize knows only English's "s". tools/find_fragments.py finds both; the tests at the end keep
|pluralize out of the templates and the number of fragments from growing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.template.base import DebugLexer, TokenType

from tools.find_fragments import fragments, pluralize_uses

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent / "needlepoint"

# Words that read the same in every language, so are not put in the catalogue: the product's name, standards and
# code systems by their own names, units and the date-format hint a field shows.
ALLOWED_WORDS = frozenset(
    {
        "Needlepoint",
        "FHIR",
        "SMART",
        "ICD",
        "SNOMED",
        "CT",
        "LOINC",
        "CPT",
        "TOTP",
        "HTTP",
        "JSON",
        "PDF",
        "CSV",
        "mm",
        "cm",
        "kg",
        "YYYY",
        "MM",
        "DD",
    }
)

# Filter literals that are codes a form posts back or a script reads, never shown as words.
CODE_LITERALS = frozenset({"launch launch/patient offline_access patient/*.rs", "mcid", "all", "saved"})

# Attributes whose value a person reads or hears; "value" only on the buttons an <input> draws.
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "hx-confirm", "label")
BUTTON_INPUT = re.compile(r"""\stype\s*=\s*["']?(submit|button|reset)\b""", re.IGNORECASE)

# A variable keeps a run of text together (it goes inside {% blocktranslate %}); a tag or comment ends the run.
VAR_MARK = "\x01"
BREAK_MARK = "\x02"

BLOCKS_TO_SKIP = {
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
    "comment": "endcomment",
    "verbatim": "endverbatim",
}
RAW_ELEMENTS = re.compile(r"<(script|style|code)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
HTML_TAG = re.compile(r"<[A-Za-z/!][^>]*>")
ATTRIBUTE = re.compile(r"""\s([A-Za-z:@-]+)\s*=\s*("([^"]*)"|'([^']*)')""")
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]+\d*);")
WORD = re.compile(r"[^\W_]+")
FILTER_TEXT = re.compile(r"""\|(default|default_if_none|yesno):(["'])(.*?)\2""")


@dataclass(frozen=True)
class Text:
    """A piece of a template a person reads: where it starts and ends in the source, and whether it sits in an
    attribute (then ``attribute`` names it) or between tags."""

    start: int
    end: int
    attribute: str = ""


def masked(source: str) -> str:
    """The template with every tag, variable, comment and translation block overwritten (same length, same line
    breaks), so that only the literal text is left: variables become VAR_MARK, everything else BREAK_MARK."""
    chars = list(source)
    skip_until = ""
    for kind, contents, start, end in _positioned_tokens(source):
        words = contents.split()
        if skip_until:
            if kind is TokenType.BLOCK and words and words[0] == skip_until:
                skip_until = ""
            _overwrite(chars, start, end, BREAK_MARK)
            continue
        if kind is TokenType.TEXT:
            continue
        if kind is TokenType.BLOCK and words and words[0] in BLOCKS_TO_SKIP:
            skip_until = BLOCKS_TO_SKIP[words[0]]
        _overwrite(chars, start, end, VAR_MARK if kind is TokenType.VAR else BREAK_MARK)
    text = "".join(chars)
    return RAW_ELEMENTS.sub(lambda m: _blank(m.group(0)), text)


def _positioned_tokens(source: str) -> list[tuple[TokenType, str, int, int]]:
    """Django's template lexer's tokens, each with where it starts and ends in the source."""
    return [(t.token_type, t.contents, *t.position) for t in DebugLexer(source).tokenize()]


def _overwrite(chars: list[str], start: int, end: int, mark: str) -> None:
    for i in range(start, end):
        if chars[i] != "\n":
            chars[i] = mark


def _blank(text: str) -> str:
    return "".join("\n" if c == "\n" else BREAK_MARK for c in text)


def readable_texts(source: str) -> list[Text]:
    """Every stretch of the template a person reads: text between tags, cut at template tags but not at variables,
    and the readable attributes' values."""
    text = masked(source)
    found: list[Text] = []
    position = 0
    for tag in HTML_TAG.finditer(text):
        found.extend(_runs(text, position, tag.start()))
        found.extend(_attributes(text, tag))
        position = tag.end()
    found.extend(_runs(text, position, len(text)))
    return [t for t in found if needs_translation(text[t.start : t.end])]


def _runs(text: str, start: int, end: int) -> list[Text]:
    runs = []
    for m in re.finditer(f"[^{BREAK_MARK}]+", text[start:end]):
        run = m.group(0)
        core = run.strip()
        if core:
            offset = start + m.start() + (len(run) - len(run.lstrip()))
            runs.append(Text(offset, offset + len(core)))
    return runs


def _attributes(text: str, tag: re.Match[str]) -> list[Text]:
    found = []
    for attr in ATTRIBUTE.finditer(tag.group(0)):
        name = attr.group(1).lower()
        is_button_value = (
            name == "value" and tag.group(0).lower().startswith("<input") and BUTTON_INPUT.search(tag.group(0))
        )
        if name in READ_ATTRIBUTES or is_button_value:
            start = tag.start() + attr.start(2) + 1
            found.append(Text(start, start + len(attr.group(2)) - 2, attribute=name))
    return found


def needs_translation(text: str) -> bool:
    """Whether a piece of text holds a word that is not on ALLOWED_WORDS."""
    plain = ENTITY.sub(" ", text.replace(VAR_MARK, " "))
    return any(not word.isdigit() and word not in ALLOWED_WORDS for word in WORD.findall(plain))


def untranslated(source: str) -> list[str]:
    """What a test reports for one template: each unmarked text with its line, and each filter literal."""
    problems = [
        f"line {source.count(chr(10), 0, t.start) + 1}: {(t.attribute + '=') if t.attribute else ''}"
        f"{source[t.start : t.end]!r}"
        for t in readable_texts(source)
    ]
    for kind, contents, start, _end in _positioned_tokens(source):
        if kind in (TokenType.VAR, TokenType.BLOCK):
            for m in FILTER_TEXT.finditer(contents):
                if needs_translation(m.group(3)) and m.group(3) not in CODE_LITERALS:
                    problems.append(
                        f"line {source.count(chr(10), 0, start) + 1}: |{m.group(1)}:{m.group(2)}"
                        f'{m.group(3)}{m.group(2)} (write _("..."))'
                    )
    return problems


def template_names() -> list[str]:
    """Every template under needlepoint/, as a path from there."""
    return sorted(str(p.relative_to(TEMPLATE_ROOT)) for p in TEMPLATE_ROOT.rglob("*.html"))


def test_the_templates_are_found() -> None:
    assert len(template_names()) > 100
    assert "templates/base.html" in template_names()


@pytest.mark.parametrize("name", template_names())
def test_every_readable_text_is_marked_for_translation(name: str) -> None:
    source = (TEMPLATE_ROOT / name).read_text(encoding="utf-8")
    problems = untranslated(source)
    assert not problems, f"{name} has text not marked for translation:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        "<p>Save the visit</p>",
        '<input placeholder="Find a patient">',
        '<button aria-label="Close">×</button>',
        '<input type="submit" value="Sign">',
        "<h1>Progress · {{ patient.full_name }}</h1>",
        '{% if x %}<td>{{ x|default:"never" }}</td>{% endif %}',
        "{% block title %}Patients{% endblock %}",
    ],
)
def test_the_scan_finds_unmarked_text(source: str) -> None:
    assert untranslated(source), source


@pytest.mark.parametrize(
    "source",
    [
        '{% load i18n %}<p>{% translate "Save the visit" %}</p>',
        "<input placeholder=\"{% translate 'Find a patient' %}\">",
        "<h1>{% blocktranslate with name=patient.full_name %}Progress · {{ name }}{% endblocktranslate %}</h1>",
        '<td>{{ x|default:_("never") }}</td><td>{{ x|default:"—" }}</td>',
        "<script>const label = 'not for the page';</script><style>p::after { content: 'x'; }</style>",
        "{# a note to the next developer #}{% comment %}Long note{% endcomment %}<!-- markup note -->",
        '<input type="text" name="q" value="{{ query }}"><a href="/x" data-testid="some-id">{{ n }}</a>',
        "<p>Needlepoint · FHIR · 12 mm</p><code>needlepoint outcomes send-due</code>",
    ],
)
def test_the_scan_passes_marked_text_and_what_is_not_read(source: str) -> None:
    assert not untranslated(source), untranslated(source)


# What tools/find_fragments.py still finds: headings with a date or name beside them in a <span>, legends of
# swatches, a help text before a field's error. Lower it when a fragment is joined into a whole message; never raise it.
FRAGMENTS_AT_MOST = 11


def test_no_template_uses_pluralize() -> None:
    found = [
        f"{name}: line {line}"
        for name in template_names()
        for line in pluralize_uses((TEMPLATE_ROOT / name).read_text(encoding="utf-8"))
    ]
    assert not found, (
        "|pluralize knows only English plurals; write {% blocktranslate count n=... %}...{% plural %}..."
        "{% endblocktranslate %}:\n" + "\n".join(found)
    )


def test_sentence_fragments_do_not_grow() -> None:
    found = [
        f"{name}: {f}"
        for name in template_names()
        for f in fragments((TEMPLATE_ROOT / name).read_text(encoding="utf-8"))
    ]
    assert len(found) <= FRAGMENTS_AT_MOST, (
        f"{len(found)} messages look like pieces of a sentence (at most {FRAGMENTS_AT_MOST}); join each sentence into "
        'one {% blocktranslate %} with named values (a link: {% url ... as x_url %}, then <a href="{{ x_url }}">):\n'
        + "\n".join(found)
    )


@pytest.mark.parametrize(
    "source",
    [
        '<p>{% translate "Give the patient the" %} <a href="{% url \'sheet\' %}">'
        '{% translate "after-care sheet" %}</a>.</p>',
        "<p>{% blocktranslate %}Signed by{% endblocktranslate %} <strong>{{ name }}</strong></p>",
        '<p>{% translate "Nothing was saved." %} {% if one %}{% translate "A patient" %}{% else %}'
        '{% translate "Patients" %}{% endif %} {% translate "with the same name:" %}</p>',
        '<td>{{ n }} {% translate "muscles counted" %}</td>',
    ],
)
def test_the_fragment_scan_finds_pieces_of_a_sentence(source: str) -> None:
    assert fragments(source), source


@pytest.mark.parametrize(
    "source",
    [
        "<p>{% url 'sheet' as sheet_url %}{% blocktranslate %}Give the patient the <a href=\"{{ sheet_url }}\">"
        "after-care sheet</a>.{% endblocktranslate %}</p>",
        '<tr><th>{% translate "Muscle" %}</th><th>{% translate "Side" %}</th></tr>',
        '<h1>{% if mine %}{% translate "My patients" %}{% else %}{% translate "All patients" %}{% endif %}</h1>',
        '<nav><a href="{% url \'a\' %}">{% translate "Patients" %}</a> '
        '<a href="/s/">{% translate "Schedule" %}</a></nav>',
        '<td>{% if x %}<span class="badge ok">{% translate "signed" %}</span>{% endif %} {{ when }}</td>',
        '<p><strong>{% translate "Patient position:" %}</strong> {% translate "not recorded" %}</p>',
    ],
)
def test_the_fragment_scan_passes_whole_messages(source: str) -> None:
    assert not fragments(source), fragments(source)
