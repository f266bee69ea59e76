"""Citations a reader can follow: every cited key resolves, the filters link keys, the page has the anchors.

No file cites the old, absent "clinical.md" document any more: every citation is a key of the references file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.template import Context, Template
from django.test import Client

import needlepoint
from needlepoint.citations import cite, cite_source
from needlepoint.references import KEY_PATTERN, cited_keys, references

PACKAGE = Path(needlepoint.__file__).parent
DATA_FILES = sorted(p for p in PACKAGE.rglob("*.json") if p.name != "references.json")
TEMPLATES = sorted((PACKAGE / "templates").rglob("*.html"))
CODE = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)

# Fields whose value is a citation: every key in them counts ("S14, S20", "S64 Kamper SJ et al. ..."). Any field
# named "...source" or "...sources" is one (safe_depth_source, positions_source, work_rvu_source, ...).
SOURCE_FIELDS = ("source", "sources", "key")


def _is_source_field(field: str) -> bool:
    return field in SOURCE_FIELDS or field.endswith(("_source", "_sources"))


# Something written like a citation key in any format ("H5", "WHO-1999", "CMS-ICD10CM-2026-04", "S14"): capitals,
# then a digit somewhere. Used to find citations in a key format the references file does not use.
KEYLIKE = r"[A-Z][A-Za-z]*(?:[-.][A-Za-z0-9]+)*\d[A-Za-z0-9.-]*"
# A token of a bracket counts when it reads as a code (no lower case before its first digit): "H5", "WHO-1999",
# never the character class "[A-Za-z0-9-]" of a regular expression in a module.
CODE_LIKE = re.compile(r"^[A-Z][A-Z0-9.-]*\d[A-Za-z0-9.-]*$")
BRACKETED_KEYLIKE = re.compile(rf"\[\s*({KEYLIKE}(?:\s*[,;–—-]\s*{KEYLIKE})*)\s*\]")


def _strings(node, field: str = ""):
    """Every string of a JSON document with the name of the field it sits in."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _strings(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, field)
    elif isinstance(node, str):
        yield field, node


def _citations_of_data_file(path: Path) -> set[str]:
    strings = list(_strings(json.loads(path.read_text(encoding="utf-8"))))
    prose = [text for _, text in strings]
    # A "key" field is a citation only when it holds a key alone (elsewhere "key" names other things).
    sources = [
        text for field, text in strings if _is_source_field(field) and (field != "key" or KEY_PATTERN.match(text))
    ]
    return cited_keys(prose, source_fields=sources)


def test_every_key_cited_by_a_data_file_template_or_module_is_in_the_references_file() -> None:
    known = set(references())
    missing = {}
    for path in DATA_FILES:
        if absent := _citations_of_data_file(path) - known:
            missing[str(path.relative_to(PACKAGE))] = sorted(absent)
    for path in TEMPLATES + CODE:
        if absent := cited_keys([path.read_text(encoding="utf-8")]) - known:
            missing[str(path.relative_to(PACKAGE))] = sorted(absent)

    assert missing == {}


def test_the_resolution_check_would_catch_an_unknown_key(tmp_path) -> None:
    data = tmp_path / "rules.json"
    data.write_text(json.dumps({"rules": [{"message": "Deep [S14, S999].", "source": "S20, T99z"}]}))

    assert _citations_of_data_file(data) - set(references()) == {"S999", "T99z"}


def _keys_in_another_format(path: Path) -> set[str]:
    """Citation-like tokens of a file that are not in the references file's key format (S14, T1a, EXT3)."""
    text = path.read_text(encoding="utf-8")
    found = {
        token
        for match in BRACKETED_KEYLIKE.finditer(text)
        for token in re.split(r"\s*[,;–—-]\s*(?=[A-Z])", match.group(1))
        if CODE_LIKE.match(token) and not KEY_PATTERN.match(token)
    }
    if path.suffix == ".json":
        # A source field holding one code-like token ("WHO-1999") is a key of some other list.
        found |= {
            text.strip()
            for field, text in _strings(json.loads(text))
            if _is_source_field(field) and re.fullmatch(KEYLIKE, text.strip()) and not KEY_PATTERN.match(text.strip())
        }
    return found


def test_every_citation_uses_the_key_format_of_the_references_file() -> None:
    other = {
        str(p.relative_to(PACKAGE)): sorted(keys)
        for p in DATA_FILES + TEMPLATES + CODE
        if (keys := _keys_in_another_format(p))
    }

    assert other == {}


def test_the_key_format_check_would_catch_another_key_scheme(tmp_path) -> None:
    data = tmp_path / "hazards.json"
    data.write_text(
        json.dumps({"a": [{"note": "Cord struck [H5]; see [S14, WHO-1999].", "source": "CMS-ICD10CM-2026-04"}]})
    )

    assert _keys_in_another_format(data) == {"H5", "WHO-1999", "CMS-ICD10CM-2026-04"}


def test_no_data_file_keeps_a_reference_list_of_its_own() -> None:
    # A "references" block, or a "sources" object of key -> citation, would be a second references file.
    own = []
    for path in DATA_FILES:
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and ("references" in document or isinstance(document.get("sources"), dict)):
            own.append(str(path.relative_to(PACKAGE)))

    assert own == []


def test_the_data_files_cite_most_of_the_references() -> None:
    cited = set().union(*(_citations_of_data_file(p) for p in DATA_FILES))

    assert len(cited) > 150
    assert {"S14", "S130", "T1a", "EXT5", "S210", "S220", "S230", "S400", "T2j"} <= cited


def test_cite_links_bracketed_citations_and_leaves_spinal_levels_alone() -> None:
    html = str(cite("Pleura along C7-T12 [S22]; pincer grasp [S14, S20]. Pain at the S1 level."))

    assert '<a class="cite" href="/references/#S22"' in html
    assert 'href="/references/#S14"' in html and 'href="/references/#S20"' in html
    assert "C7-T12" in html and '#T12"' not in html and '#S1"' not in html


def test_cite_links_a_bare_key_list_and_escapes_the_text() -> None:
    assert str(cite("S1, S2")).count('class="cite"') == 2
    assert "&lt;b&gt;" in str(cite("<b>bold</b> [S1]"))


def test_cite_source_links_every_key_of_a_source_field_or_list() -> None:
    html = str(cite_source("S64 Kamper SJ et al. 2009; S39 Young"))
    listed = str(cite_source(["T1a", "S23"]))

    assert 'href="/references/#S64"' in html and 'href="/references/#S39"' in html
    assert 'href="/references/#T1a"' in listed and 'href="/references/#S23"' in listed


def test_a_key_the_file_lacks_stays_plain_text() -> None:
    assert str(cite("[S999]")) == "[S999]"


def test_the_link_names_the_work_in_its_title() -> None:
    assert "Brady S, McEvoy J" in str(cite("[S1]"))


def test_the_filters_are_available_in_every_template_without_a_load_tag() -> None:
    html = Template("{{ text|cite }} / {{ source|cite_source }}").render(Context({"text": "[S14]", "source": "S20"}))

    assert 'href="/references/#S14"' in html and 'href="/references/#S20"' in html


def test_the_references_page_is_public_and_has_an_anchor_per_key(db) -> None:
    page = Client().get("/references/")
    text = page.content.decode()

    assert page.status_code == 200
    for key in references():
        assert f'id="{key}"' in text, key
    assert "10.1093/ptj/pzaf078" in text and "secondary page" in text and "Not known:" in text


def test_no_data_file_template_or_module_cites_the_absent_clinical_md() -> None:
    saying = {
        str(p.relative_to(PACKAGE))
        for p in [*DATA_FILES, PACKAGE / "references.json", *TEMPLATES, *CODE]
        if "clinical.md" in p.read_text(encoding="utf-8")
    }

    assert saying == set()


def test_an_atlas_page_links_its_hazard_sources_to_the_references(clinician) -> None:
    from tests.conftest import client_for

    page = client_for(clinician).get("/atlas/muscles/rhomboids/").content.decode()

    assert '<a class="cite" href="/references/#S21"' in page
