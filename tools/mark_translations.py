"""Mark a template's unmarked text for translation, as tests/test_i18n_marked.py finds it.

Text between tags becomes {% translate "..." %}, or {% blocktranslate with name=expr %}...{% endblocktranslate %}
when variables sit in it (trimmed when it spans lines); readable attributes likewise; {% load i18n %} is added.
The English rendered stays the same. What it cannot do (an attribute with a template tag inside) it prints, to be
done by hand; |default and |yesno literals are left to write as _("...") by hand too.

    python tools/mark_translations.py templates/accounts/staff.html ...   (paths from needlepoint/; none: all)

Then run makemessages as docs/architecture.md says.
"""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.test_i18n_marked import (
    BREAK_MARK,
    TEMPLATE_ROOT,
    VAR_MARK,
    masked,
    readable_texts,
    template_names,
)

VAR = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def var_name(expr: str, used: dict[str, str]) -> str:
    """A name for a variable inside {% blocktranslate %}, from the last part of its path, unique in the block."""
    expr = expr.strip()
    for name, e in used.items():
        if e == expr:
            return name
    base, _, filters = expr.partition("|")
    parts = base.strip().split(".")
    name = parts[-1]
    if name.isdigit() and len(parts) > 1:
        name = parts[-2] + "_" + name
    first_filter = filters.split("|")[0].split(":")[0].strip() if filters else ""
    if first_filter == "length":
        name += "_count"
    elif first_filter == "pluralize":
        name += "_plural"
    elif first_filter in ("lower", "upper") and len(filters.split("|")) == 1:
        pass
    name = re.sub(r"^get_(.*)_display$", r"\1", name)
    name = re.sub(r"\W", "_", name)
    if name in used:
        if len(parts) > 1:
            name = re.sub(r"\W", "_", parts[-2]) + "_" + name
        i = 2
        while name in used:
            name = f"{name}_{i}"
            i += 1
    used[name] = expr
    return name


def quote(text: str) -> str | None:
    """The text as a template string literal, or None when it holds both kinds of quote."""
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return None


def wrap(orig: str, mtext: str, attr_quote: str = "") -> str | None:
    """The marked form of one piece of text, or None when a template tag sits inside it (done by hand)."""
    if BREAK_MARK in mtext:
        return None
    trimmed = " trimmed" if "\n" in orig else ""
    if VAR_MARK not in mtext and not trimmed:
        if attr_quote == '"' and "'" not in orig:
            return "{% translate '" + orig + "' %}"
        q = quote(orig)
        if q is not None:
            return "{% translate " + q + " %}"
    used: dict[str, str] = {}
    body = VAR.sub(lambda m: "{{ " + var_name(m.group(1), used) + " }}", orig)
    withs = " ".join(f"{n}={e}" for n, e in used.items() if n != e)
    return (
        "{% blocktranslate" + (f" with {withs}" if withs else "") + trimmed + " %}" + body + "{% endblocktranslate %}"
    )


def add_load(src: str) -> str:
    """The template with {% load i18n %}: after {% extends %}, else first, adding no line to what it renders."""
    if re.search(r"\{%\s*load\s[^%]*\bi18n\b", src):
        return src
    m = re.match(r"\{%\s*extends\s[^%]*%\}", src)
    if m:
        return src[: m.end()] + "{% load i18n %}" + src[m.end() :]
    return "{% load i18n %}" + src


def convert(name: str) -> list[str]:
    """Mark one template in place; what could not be marked, as lines to print."""
    path = TEMPLATE_ROOT / name
    src = path.read_text(encoding="utf-8")
    mtext = masked(src)
    todo = []
    edits = []
    for t in readable_texts(src):
        orig = src[t.start : t.end]
        q = src[t.start - 1] if t.attribute else ""
        new = wrap(orig, mtext[t.start : t.end], q)
        if new is None:
            line = src.count("\n", 0, t.start) + 1
            todo.append(f"{name}:{line}: {t.attribute} {orig!r}")
            continue
        edits.append((t.start, t.end, new))
    if edits:
        for start, end, new in sorted(edits, reverse=True):
            src = src[:start] + new + src[end:]
        src = add_load(src)
        path.write_text(src, encoding="utf-8")
    return todo


if __name__ == "__main__":
    names = sys.argv[1:] or template_names()
    for n in names:
        for line in convert(n):
            print(line)
