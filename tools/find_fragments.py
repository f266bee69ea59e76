"""List the template messages a translator cannot translate well: sentence fragments and |pluralize.

A sentence cut by an {% if %}, a {% url %} link or a variable into several {% translate %} pieces reaches the
catalogue as pieces; a translator sees "Give the patient the" alone and cannot put the words in their own order.
Such a sentence belongs in one {% blocktranslate %} with named values (a link as {% url 'x' as x_url %} and
<a href="{{ x_url }}"> inside the message). A plural written with |pluralize ("muscle{{ n|pluralize }}") only knows
English's "s"; {% blocktranslate count n=... %}...{% plural %}...{% endblocktranslate %} gives each language its
own forms.

How a fragment is found. Each template is cut into HTML tags, template tokens and text. A {% translate %} or
{% blocktranslate %} between tags is looked at from each side, walking over what a sentence runs through: spaces,
inline elements (<a>, <strong>, <span>...), {% if %}/{% else %}/{% endif %} and lone punctuation such as "(" or ",".
The walk stops at a boundary (a block element such as <p>, <td> or <li>, a button or badge, a loop, a block, an
include, a "·" separator) or at a neighbour: another translation, a variable, a {% url %} (a link to one), another
template tag or left-over text. The message is a fragment when it meets a neighbour on its right and does not end a
sentence (. ! ? : ; …), or meets one on its left and starts mid-sentence (a small letter or a comma, a closing
bracket, "·"), unless what it meets there is a label ending in ":" (a value after its label). A message that is
all the text of a link is looked at from outside the link, and one starting with a capital (a link on its own, as
in a menu) is not a fragment on its right. A message in an attribute (title="...") stands alone and is not looked at.

    python tools/find_fragments.py              every template under needlepoint/, each fragment and the counts
    python tools/find_fragments.py --counts     the counts only
    python tools/find_fragments.py templates/visits/visit.html ...    some templates (paths from needlepoint/)

tests/test_i18n_marked.py keeps the fragment count at or below what it was last brought down to, and |pluralize
out of the templates.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from django.template.base import DebugLexer, TokenType

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent / "needlepoint"

HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)\b[^>]*>|<!--.*?-->", re.DOTALL)
INLINE_ELEMENTS = frozenset(
    {"a", "span", "strong", "em", "b", "i", "small", "abbr", "code", "kbd", "mark", "time", "sup", "sub", "u", "q"}
)
# Inline elements that stand on their own as a control or a label, not as words in a sentence.
STANDALONE_CLASS = re.compile(r"""\bclass\s*=\s*["'][^"']*\b(button|badge)\b""")
# Tags a sentence runs through: showing a piece or not does not end the sentence.
CONDITION_TAGS = frozenset({"if", "elif", "else", "endif", "ifchanged", "endifchanged"})
# Tags that end a run of text: what is on either side is not one sentence.
BOUNDARY_TAGS = frozenset(
    {
        "for",
        "empty",
        "endfor",
        "block",
        "endblock",
        "include",
        "csrf_token",
        "extends",
        "load",
        "comment",
        "endcomment",
        "with",
        "endwith",
        "spaceless",
        "endspaceless",
    }
)
SEPARATORS = frozenset({"·", "|", "/", "—", "–"})
JOINERS = re.compile(r"^[\s(),:;.\-]*$")
SENTENCE_END = ".!?:;…"
MID_SENTENCE_START = re.compile(r"^[\s\"'(]*([a-zà-ÿ]|[,;:)·%])")
TRANSLATE = re.compile(r"^(translate|trans)\s+(\"[^\"]*\"|'[^']*')")
PLURALIZE = re.compile(r"\|\s*pluralize\b")


@dataclass(frozen=True)
class Piece:
    """One item of a template in reading order. kind: "message" (a translation between tags), "neighbour"
    (a variable, a {% url %}, another tag, left-over text), "through" (what a sentence runs through) or "boundary"."""

    kind: str
    start: int
    text: str = ""


@dataclass(frozen=True)
class Fragment:
    line: int
    text: str
    left: str
    right: str

    def __str__(self) -> str:
        sides = " and ".join(
            s for s in (self.left and f"after {self.left}", self.right and f"before {self.right}") if s
        )
        return f"line {self.line}: {self.text!r} ({sides})"


def pieces(source: str) -> list[Piece]:
    """The template as pieces in reading order; a {% blocktranslate %} block is one message, an HTML tag (with any
    template tags inside it) one piece."""
    tags = _html_tags(source)
    found: list[Piece] = [piece for _start, _end, piece in tags]
    block_start = -1
    block_text: list[str] = []
    for token in DebugLexer(source).tokenize():
        start, end = token.position
        words = token.contents.split()
        first = words[0] if words else ""
        if block_start >= 0:
            if token.token_type is TokenType.BLOCK and first in ("endblocktranslate", "endblocktrans"):
                found.append(Piece("message", block_start, "".join(block_text).strip()))
                block_start = -1
            elif token.token_type is TokenType.BLOCK and first == "plural":
                block_text.append("\x00")
            elif not block_text or block_text[-1] != "\x00":
                block_text.append(source[start:end])
            continue
        if token.token_type is TokenType.TEXT:
            found.extend(_text_pieces(source, start, end, tags))
        elif any(s <= start < e for s, e, _p in tags):
            continue
        elif token.token_type is TokenType.VAR:
            found.append(Piece("neighbour", start, "a variable"))
        elif token.token_type is TokenType.COMMENT:
            found.append(Piece("boundary", start))
        elif first in ("blocktranslate", "blocktrans"):
            block_start = start
            block_text = []
        elif (m := TRANSLATE.match(token.contents)) and " as " not in token.contents:
            found.append(Piece("message", start, m.group(2)[1:-1]))
        elif first in CONDITION_TAGS:
            found.append(Piece("condition", start, first))
        elif first == "url" and " as " in token.contents:
            found.append(Piece("through", start))
        elif first in BOUNDARY_TAGS:
            found.append(Piece("boundary", start))
        else:
            found.append(Piece("neighbour", start, "a {% url %}" if first == "url" else f"{{% {first} %}}"))
    return sorted(found, key=lambda p: p.start)


def _html_tags(source: str) -> list[tuple[int, int, Piece]]:
    """Each HTML tag of the source (a tag with template tags inside is one tag): where it starts and ends, and its
    piece: through for an inline element, a neighbour for a link to a {% url %}, a boundary otherwise."""
    tags = []
    standalone: dict[str, list[bool]] = {}
    for m in HTML_TAG.finditer(source):
        name = (m.group(2) or "").lower()
        closing = bool(m.group(1))
        if name in INLINE_ELEMENTS and closing:
            opened = standalone.get(name) or [False]
            is_standalone = opened.pop()
        elif name in INLINE_ELEMENTS:
            is_standalone = bool(STANDALONE_CLASS.search(m.group(0)))
            standalone.setdefault(name, []).append(is_standalone)
        if name in INLINE_ELEMENTS and not is_standalone:
            is_link = name == "a" and not closing and "{% url" in m.group(0)
            piece = (
                Piece("neighbour", m.start(), "a link to a {% url %}")
                if is_link
                else Piece("through", m.start(), m.group(0))
            )
        else:
            piece = Piece("boundary", m.start())
        tags.append((m.start(), m.end(), piece))
    return tags


def _text_pieces(source: str, start: int, end: int, tags: list[tuple[int, int, Piece]]) -> list[Piece]:
    """The words of a text token outside the HTML tags."""
    found = []
    position = start
    for tag_start, tag_end, _piece in tags:
        if tag_end <= start or tag_start >= end:
            continue
        found.extend(_words(source[position:tag_start], position) if tag_start > position else [])
        position = max(position, tag_end)
    if position < end:
        found.extend(_words(source[position:end], position))
    return found


def _words(text: str, offset: int) -> list[Piece]:
    core = text.strip()
    offset += len(text) - len(text.lstrip())
    if not core or JOINERS.match(core):
        return []
    if core in SEPARATORS or core == "&middot;":
        return [Piece("boundary", offset)]
    return [Piece("neighbour", offset, f"the text {core!r}")]


def _neighbour(items: list[Piece], index: int, step: int) -> Piece | None:
    """What the message at index meets going one way (step 1 or -1): a neighbour or another message, or None at a
    boundary. The other branches of an {% if %} are alternatives, not what comes next, so they are passed over."""
    i = index + step
    while 0 <= i < len(items):
        p = items[i]
        if p.kind == "boundary":
            return None
        if p.kind in ("message", "neighbour"):
            return p
        if p.kind == "condition" and p.text in ("elif", "else"):
            i = _other_end_of_if(items, i, step)
        i += step
    return None


def _other_end_of_if(items: list[Piece], index: int, step: int) -> int:
    """From an {% else %} or {% elif %}: its {% endif %} going right, its {% if %} going left."""
    opening, closing = ("if", "endif") if step == 1 else ("endif", "if")
    depth = 0
    i = index + step
    while 0 <= i < len(items):
        p = items[i]
        if p.kind == "condition" and p.text == opening:
            depth += 1
        elif p.kind == "condition" and p.text == closing:
            if depth == 0:
                return i
            depth -= 1
        i += step
    return i


def _link_around(items: list[Piece], index: int) -> tuple[int, int] | None:
    """Where the link is, when the message is all its text: <a ...>message</a>, perhaps as one branch of an
    {% if %}; the indexes of the <a> and the </a>."""
    before = _adjacent(items, index, -1)
    after = _adjacent(items, index, 1)
    if before < 0 or after >= len(items):
        return None
    opening, closing = items[before], items[after]
    is_link = opening.text == "a link to a {% url %}" or opening.text.startswith("<a")
    if is_link and closing.kind == "through" and closing.text == "</a>":
        return before, after
    return None


def _adjacent(items: list[Piece], index: int, step: int) -> int:
    """The index of the piece next to the message one way, over {% if %} tags (and an {% if %}'s other branches)."""
    i = index + step
    while 0 <= i < len(items):
        p = items[i]
        if p.kind != "condition":
            return i
        if p.text in ("elif", "else"):
            i = _other_end_of_if(items, i, step)
        i += step
    return i


def _describe(p: Piece) -> str:
    return "another message" if p.kind == "message" else p.text


def _starts_mid_sentence(text: str) -> bool:
    return bool(MID_SENTENCE_START.match(text))


def _ends_sentence(text: str) -> bool:
    core = text.rstrip().rstrip(")\"'»”")
    return not core or core[-1] in SENTENCE_END or core.endswith("}}")


def fragments(source: str) -> list[Fragment]:
    """The messages of one template that look like pieces of a sentence."""
    items = pieces(source)
    found = []
    for index, p in enumerate(items):
        if p.kind != "message":
            continue
        text = p.text.split("\x00")[0]
        link = _link_around(items, index)
        left = _neighbour(items, link[0] if link else index, -1)
        right = _neighbour(items, link[1] if link else index, 1)
        standalone_link = link is not None and not _starts_mid_sentence(text)
        right_open = (
            right is not None
            and not _ends_sentence(text)
            and not standalone_link
            and not (right.kind == "message" and not _starts_mid_sentence(right.text))
        )
        after_label = left is not None and left.kind == "message" and left.text.rstrip().endswith(":")
        left_open = left is not None and _starts_mid_sentence(text) and not after_label
        if right_open or left_open:
            line = source.count("\n", 0, p.start) + 1
            found.append(
                Fragment(
                    line,
                    text,
                    _describe(left) if left is not None and left_open else "",
                    _describe(right) if right is not None and right_open else "",
                )
            )
    return found


def pluralize_uses(source: str) -> list[int]:
    """The lines where |pluralize is used."""
    return [source.count("\n", 0, m.start()) + 1 for m in PLURALIZE.finditer(source)]


def template_names() -> list[str]:
    return sorted(str(p.relative_to(TEMPLATE_ROOT)) for p in TEMPLATE_ROOT.rglob("*.html"))


def counts(names: list[str] | None = None) -> tuple[int, int]:
    """How many fragments and |pluralize uses the templates hold."""
    total_fragments = total_pluralize = 0
    for name in names or template_names():
        source = (TEMPLATE_ROOT / name).read_text(encoding="utf-8")
        total_fragments += len(fragments(source))
        total_pluralize += len(pluralize_uses(source))
    return total_fragments, total_pluralize


def main(argv: list[str]) -> None:
    only_counts = "--counts" in argv
    names = [a for a in argv if not a.startswith("--")] or template_names()
    per_template = []
    for name in names:
        source = (TEMPLATE_ROOT / name).read_text(encoding="utf-8")
        found = fragments(source)
        plurals = pluralize_uses(source)
        if found or plurals:
            per_template.append((len(found), name))
        if only_counts:
            continue
        for f in found:
            print(f"{name}: {f}")
        for line in plurals:
            print(f"{name}: line {line}: |pluralize")
    total_fragments, total_pluralize = counts(names)
    if not only_counts:
        print()
        for n, name in sorted(per_template, reverse=True):
            print(f"{n:4} {name}")
    print(f"fragments: {total_fragments}")
    print(f"pluralize: {total_pluralize}")


if __name__ == "__main__":
    main(sys.argv[1:])
