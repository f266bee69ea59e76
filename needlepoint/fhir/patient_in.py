"""What an imported Patient keeps beyond its name, birth date, gender and contact points, and what it leaves out.
Pure module, no Django.

Kept: the official (else first) name's prefix, the first address's parts (street lines, city, state, postal code,
country; its ``text`` only when it has no parts), marital status (v3-MaritalStatus, or UNK), the US Core race,
ethnicity and birth-sex extensions (OMB categories, declined/unknown answers and the patient's own words), and
every identifier with a system and a value (with its type). Everything else the Patient holds is listed by name as
left out (``LeftOut``), so an import never drops an element without saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from needlepoint.patients import demographics
from needlepoint.patients.demographics import CodedSet

# Patient elements read by the import (the rest of a Patient is listed as left out, element by element).
READ = (
    "resourceType",
    "id",
    "identifier",
    "name",
    "telecom",
    "gender",
    "birthDate",
    "address",
    "maritalStatus",
    "deceasedBoolean",  # read by incoming.read_death
    "deceasedDateTime",
)
ADDRESS_PARTS = {"city": "address_city", "state": "address_state", "postalCode": "address_postal_code"}
ADDRESS_KEPT = ("line", "city", "state", "postalCode", "country", "text")
NAME_KEPT = ("use", "family", "given", "prefix")
IDENTIFIER_KEPT = ("system", "value", "type")


@dataclass(frozen=True)
class LeftOut:
    """One element of the Patient that is not kept: where (FHIRPath below the resource) and what, in words."""

    path: str
    what: str


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _list(resource: dict[str, Any], key: str) -> list[Any]:
    value = resource.get(key)
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _short(url: Any) -> str:
    """An extension's URL by its last part ("patient-mothersMaidenName"), the way its definition names it."""
    return str(url).rstrip("/").rsplit("/", 1)[-1] if url else "(no url)"


def chosen_name(resource: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """The official name, else the first, and its position."""
    names = _list(resource, "name")
    indexed = [(i, n) for i, n in enumerate(names) if isinstance(n, dict)]
    official = next(((i, n) for i, n in indexed if n.get("use") == "official"), None)
    return official or (indexed[0] if indexed else (-1, None))


def _left_over(item: dict[str, Any], kept: tuple[str, ...], path: str) -> list[LeftOut]:
    """The keys of ``item`` outside ``kept``, each named (extensions by their URL)."""
    found = []
    for key, value in item.items():
        if key in kept:
            continue
        if key in ("extension", "modifierExtension"):
            found += [
                LeftOut(f"{path}.{key}[{i}]", f"{path}.{key} {_short(e.get('url'))}")
                for i, e in enumerate(value if isinstance(value, list) else [])
                if isinstance(e, dict)
            ]
        else:
            found.append(LeftOut(f"{path}.{key}", f"{path}.{key}"))
    return found


def name_parts(resource: dict[str, Any]) -> tuple[str, list[LeftOut]]:
    """The chosen name's prefix (several joined by a space), and the names and name parts left out."""
    position, name = chosen_name(resource)
    left: list[LeftOut] = []
    for i, other in enumerate(_list(resource, "name")):
        if i != position:
            use = f" ({other['use']})" if isinstance(other, dict) and isinstance(other.get("use"), str) else ""
            left.append(LeftOut(f"name[{i}]", f"name[{i}]{use}: only one name is kept"))
    if name is None:
        return "", left
    left += _left_over(name, NAME_KEPT, f"name[{position}]")
    prefixes = [_text(p) for p in name.get("prefix") or [] if _text(p)]
    return " ".join(prefixes), left


def address_parts(resource: dict[str, Any]) -> tuple[dict[str, str], list[LeftOut]]:
    """The first address: street lines (one per line) and parts; its text only when it has no parts."""
    data = {"address": "", "address_city": "", "address_state": "", "address_postal_code": "", "address_country": ""}
    addresses = _list(resource, "address")
    left = [LeftOut(f"address[{i}]", f"address[{i}]: only the first address is kept") for i in range(1, len(addresses))]
    if not addresses or not isinstance(addresses[0], dict):
        return data, left
    first = addresses[0]
    lines = [_text(line) for line in _list(first, "line") if _text(line)]
    data["address"] = "\n".join(lines)
    for element, name in ADDRESS_PARTS.items():
        data[name] = _text(first.get(element))
    data["address_country"] = _text(first.get("country"))
    left += _left_over(first, ADDRESS_KEPT, "address[0]")
    if _text(first.get("text")):
        if any(data.values()):
            left.append(LeftOut("address[0].text", "address[0].text (its parts are kept)"))
        else:
            data["address"] = _text(first["text"])
    return data, left


def _known_coding(concept: Any, coded: CodedSet) -> str:
    """The first coding of ``concept`` that is a code of ``coded`` (same system and code), or ""."""
    for coding in _dicts(concept.get("coding") if isinstance(concept, dict) else None):
        found = coded.find(_text(coding.get("code")))
        if found is not None and coding.get("system") == found.system:
            return found.code
    return ""


def marital_status(resource: dict[str, Any]) -> tuple[str, list[LeftOut]]:
    """The marital status code (v3-MaritalStatus, or UNK), or "" with the element listed as left out."""
    concept = resource.get("maritalStatus")
    if concept is None:
        return "", []
    code = _known_coding(concept, demographics.marital_statuses())
    if not code:
        return "", [LeftOut("maritalStatus", "maritalStatus: not a v3-MaritalStatus code")]
    text = _text(concept.get("text"))
    display = demographics.marital_statuses().find(code)
    if text and display and text.lower() not in (code.lower(), display.display.lower(), display.label.lower()):
        return code, [LeftOut("maritalStatus.text", f"maritalStatus.text “{text}” (the code {code} is kept)")]
    return code, []


def _category_extension(
    extension: dict[str, Any], position: int, coded: CodedSet, name: str
) -> tuple[list[str], str, list[LeftOut]]:
    """The OMB category codes and the text of a US Core race or ethnicity extension, and its parts left out."""
    codes: list[str] = []
    text = ""
    left: list[LeftOut] = []
    for i, part in enumerate(_dicts(extension.get("extension"))):
        path = f"extension[{position}].extension[{i}]"
        url = part.get("url")
        coding = _dict(part.get("valueCoding"))
        found = coded.find(_text(coding.get("code")))
        if url == "ombCategory" and found is not None and coding.get("system") == found.system:
            codes.append(found.code)
        elif url == "ombCategory":
            left.append(LeftOut(path, f"{name} ombCategory {coding.get('code')!s}: not an OMB {name} category"))
        elif url == "text" and _text(part.get("valueString")):
            text = _text(part["valueString"])
        else:
            left.append(LeftOut(path, f"{name} {url or '(no url)'}"))
    if len(codes) > coded.most or (len(codes) > 1 and demographics.race_problem(codes)):
        left.append(LeftOut(f"extension[{position}]", f"{name} categories {', '.join(codes)}: not a valid choice"))
        codes = []
    return codes, text, left


def coded_demographics(resource: dict[str, Any]) -> tuple[dict[str, Any], list[LeftOut]]:
    """Race, ethnicity and birth sex from the US Core extensions; every other extension listed as left out."""
    data: dict[str, Any] = {
        "race_codes": [],
        "race_text": "",
        "ethnicity_code": "",
        "ethnicity_text": "",
        "birth_sex": "",
    }
    left: list[LeftOut] = []
    races, ethnicities, sexes = demographics.races(), demographics.ethnicities(), demographics.birth_sexes()
    for i, extension in enumerate(_list(resource, "extension")):
        url = extension.get("url") if isinstance(extension, dict) else None
        if url == races.extension and not data["race_codes"] and not data["race_text"]:
            data["race_codes"], data["race_text"], found = _category_extension(extension, i, races, "race")
            left += found
        elif url == ethnicities.extension and not data["ethnicity_code"] and not data["ethnicity_text"]:
            codes, data["ethnicity_text"], found = _category_extension(extension, i, ethnicities, "ethnicity")
            data["ethnicity_code"] = codes[0] if codes else ""
            left += found
        elif url == sexes.extension and sexes.find(_text(extension.get("valueCode"))) and not data["birth_sex"]:
            data["birth_sex"] = _text(extension["valueCode"])
        elif url == sexes.extension:
            left.append(LeftOut(f"extension[{i}]", f"extension us-core-birthsex {extension.get('valueCode')!s}"))
        else:
            left.append(LeftOut(f"extension[{i}]", f"extension {_short(url)}"))
    return data, left


def identifiers(
    resource: dict[str, Any], keeps_social_security_numbers: bool = False
) -> tuple[list[dict[str, str]], list[LeftOut]]:
    """Every identifier with a system and a value, with its type (the coding saying Social Security number,
    else the first, and the text); the others, and the parts of kept ones that are not kept (use, period,
    assigner, further type codings), listed as left out. A Social Security number is kept only when the clinic
    keeps them (``demographics.identifier_not_kept``)."""
    kept: list[dict[str, str]] = []
    left: list[LeftOut] = []
    seen: set[tuple[str, str]] = set()
    for i, identifier in enumerate(_list(resource, "identifier")):
        path = f"identifier[{i}]"
        identifier = identifier if isinstance(identifier, dict) else {}
        system, value = _text(identifier.get("system")), _text(identifier.get("value"))
        if not system or not value or (system, value) in seen:
            why = "the same system and value again" if (system, value) in seen else "no system or no value"
            left.append(LeftOut(path, f"{path}: {why}"))
            continue
        seen.add((system, value))
        concept = _dict(identifier.get("type"))
        codings = _dicts(concept.get("coding"))
        # The coding kept is the one saying Social Security number when any does (so the page masks it whichever
        # place the sender gave it), else the first.
        said_ssn = [c for c in codings if demographics.is_masked("", _text(c.get("system")), _text(c.get("code")))]
        first = (said_ssn or codings or [{}])[0]
        read = {
            "system": system,
            "value": value,
            "type_system": _text(first.get("system")),
            "type_code": _text(first.get("code")),
            "type_display": _text(first.get("display")),
            "type_text": _text(concept.get("text")),
        }
        why = demographics.identifier_not_kept(read, keeps_social_security_numbers)
        if why:  # the one reason today: a Social Security number, which the clinic does not keep
            left.append(LeftOut(path, f"{path} (Social Security number): {why}"))
            continue
        kept.append(read)
        left += _left_over(identifier, IDENTIFIER_KEPT, path)
        left += [
            LeftOut(f"{path}.type.coding[{n}]", f"{path}.type.coding[{n}]")
            for n, coding in enumerate(codings)
            if coding is not first
        ]
    return kept, left


def telecom_left_out(resource: dict[str, Any], kept_systems: tuple[str, ...] = ("phone", "email")) -> list[LeftOut]:
    """The contact points beyond the first phone and first e-mail, and the parts of those kept beyond the value."""
    left: list[LeftOut] = []
    taken: set[str] = set()
    for i, point in enumerate(_list(resource, "telecom")):
        system = point.get("system") if isinstance(point, dict) else None
        if system in kept_systems and system not in taken and _text(point.get("value")):
            taken.add(str(system))
            left += _left_over(point, ("system", "value"), f"telecom[{i}]")
        else:
            left.append(LeftOut(f"telecom[{i}]", f"telecom[{i}] ({system}): only the first phone and e-mail are kept"))
    return left


def other_elements(resource: dict[str, Any]) -> list[LeftOut]:
    """Every other element of the Patient (communication, multipleBirth, deceased, contact, meta, text...)."""
    return [LeftOut(key, key) for key in resource if key not in (*READ, "extension")]
