"""A transaction Bundle's form and the transaction-response that answers it, by the FHIR R4 rules (Bundle; RESTful
API, transaction). Pure module, no Django.

- ``entry_problems``: every entry holds a resource of an R4 type, with a FHIR id if it has one; its fullUrl, if
  any, is a urn:uuid:, a urn:oid: or an absolute URL, not version-specific (bdl-8) and no other entry's (bdl-7);
  its request is a POST (create, the one interaction imported) with a url that names the entry's resource type
  (``Patient``, or a base URL then ``/Patient``: R4 RESTful API, transaction, "the url ... for a POST is the type").
  ``ifNoneExist`` (conditional create) is read on the Patient alone, and only as the search this server does
  for it: ``identifier=system|value`` (``if_none_exist``); on any other entry, or as any other search, it is
  refused, since a create the server would not make conditional is not one it may make regardless.
- ``reference_problems``: every Reference.reference in an entry names something the bundle holds. A urn:uuid:
  or urn:oid: reference must be an entry's fullUrl, a relative one (Type/id) an entry's resource of that type and
  id (or an absolute fullUrl ending in Type/id). A conditional reference (Type?search) is refused: the
  specification has the server resolve it, and this server does not. An absolute URL that is no entry's fullUrl
  points outside the bundle, which FHIR allows; it is not followed, and nothing imported keeps it. A reference to
  a contained resource (#id) stays inside its resource.
- ``transaction_response``: one entry per request entry, in order, from the import's issues by their
  ``Bundle.entry[i]`` location: 201 Created with location, etag and lastModified where the issues name a created
  resource; otherwise 200 OK, no location, and the warning that says why nothing was stored. Every issue of an
  entry (created, noted, not stored) is in its ``response.outcome``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from needlepoint.fhir.mapping import Issue, Json, operation_outcome

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # R4 datatypes: id
_UUID = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OID = re.compile(r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$")  # R4 datatypes: oid
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#]+\S*$")  # RFC 3986: a scheme and an authority
_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?$")
_CONDITIONAL = re.compile(r"^[A-Z][A-Za-z]+\?")
_ENTRY = re.compile(r"^Bundle\.entry\[(\d+)\]")
_POST_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*://[^\s?#]+/)?([A-Za-z]+)$")  # Type, or base/Type
CONDITIONAL_TYPES = ("Patient",)  # the entries whose ifNoneExist the server searches (patient_search, identifier)
# The elements of the Reference datatype: an object with a string "reference" and other keys is no Reference
# (Expression.reference, a resource's own "reference" element are uris).
_REFERENCE_KEYS = {"id", "extension", "reference", "_reference", "type", "_type", "identifier", "display", "_display"}
RESOURCE_TYPES_FILE = Path(__file__).with_name("data") / "r4_resource_types.json"


@cache
def r4_resource_types() -> frozenset[str]:
    """The resource types of FHIR R4 (data/r4_resource_types.json, from the R4 definitions)."""
    return frozenset(json.loads(RESOURCE_TYPES_FILE.read_text(encoding="utf-8"))["types"])


def entry_path(index: int, path: str = "") -> tuple[str, ...]:
    """An issue's location: ``Bundle.entry[index]``, and ``path`` within the entry."""
    return (f"Bundle.entry[{index}]{'.' + path if path else ''}",)


def _is_full_url(text: str) -> bool:
    """Whether ``text`` may be an entry's fullUrl: a urn:uuid:, a urn:oid: or an absolute URL."""
    return bool(_UUID.match(text) or _OID.match(text) or _ABSOLUTE.match(text))


def _resource_problems(resource: Any, index: int) -> list[Issue]:
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        message = f"Bundle.entry[{index}]: each entry needs a resource with a resourceType."
        return [Issue("error", "structure", message, entry_path(index))]
    problems = []
    kind = resource["resourceType"]
    if kind not in r4_resource_types():
        problems.append(
            Issue(
                "error",
                "invalid",
                f"Bundle.entry[{index}]: {kind!r} is not a FHIR R4 resource type.",
                entry_path(index, "resource.resourceType"),
            )
        )
    if "id" in resource and not (isinstance(resource["id"], str) and FHIR_ID.match(resource["id"])):
        problems.append(
            Issue(
                "error",
                "value",
                f"Bundle.entry[{index}]: the id {resource['id']!r} is not a FHIR id "
                "(A-Z, a-z, 0-9, - and ., 1-64 characters).",
                entry_path(index, "resource.id"),
            )
        )
    return problems


def _full_url_problems(entry: dict[str, Any], index: int, seen: dict[str, int]) -> list[Issue]:
    if "fullUrl" not in entry:
        return []
    full_url = entry["fullUrl"]
    where = entry_path(index, "fullUrl")
    if not isinstance(full_url, str) or not _is_full_url(full_url):
        message = (
            f"Bundle.entry[{index}]: the fullUrl {full_url!r} is neither a urn:uuid:, a urn:oid: nor an absolute URL."
        )
        return [Issue("error", "value", message, where)]
    if "/_history/" in full_url:
        message = f"Bundle.entry[{index}]: the fullUrl {full_url} names a version; a fullUrl names a resource (bdl-8)."
        return [Issue("error", "value", message, where)]
    if full_url in seen:
        message = (
            f"Bundle.entry[{index}]: the fullUrl {full_url} is also Bundle.entry[{seen[full_url]}]'s; "
            "each entry needs its own (bdl-7)."
        )
        return [Issue("error", "duplicate", message, where)]
    seen[full_url] = index
    return []


def _request_problems(entry: dict[str, Any], index: int) -> list[Issue]:
    request = entry.get("request")
    if not isinstance(request, dict):
        message = f"Bundle.entry[{index}]: a transaction entry needs a request (method POST and url)."
        return [Issue("error", "required", message, entry_path(index, "request"))]
    problems = []
    method = request.get("method")
    if method != "POST":
        problems.append(
            Issue(
                "error",
                "not-supported",
                f"Bundle.entry[{index}]: entries must be POST (create); this one is {method!r}.",
                entry_path(index, "request.method"),
            )
        )
    url = request.get("url")
    if not isinstance(url, str) or not url.strip():
        problems.append(
            Issue(
                "error",
                "required",
                f"Bundle.entry[{index}]: the request needs a url (for a POST, the resource type).",
                entry_path(index, "request.url"),
            )
        )
    elif method == "POST":
        problems += _url_problems(url.strip(), _resource_type(entry), index)
    if "ifNoneExist" in request:
        problems += _if_none_exist_problems(request["ifNoneExist"], _resource_type(entry), index)
    return problems


def _resource_type(entry: dict[str, Any]) -> str:
    resource = entry.get("resource")
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    return kind if isinstance(kind, str) else ""


def _url_problems(url: str, kind: str, index: int) -> list[Issue]:
    """A POST creates a resource of the type its url names: a url naming another type (or none) is refused,
    since the entry would be created where its sender did not ask."""
    named = _POST_URL.match(url)
    if named and named.group(1) == kind:
        return []
    message = (
        f"Bundle.entry[{index}]: the request url {url!r} does not name the entry's resource type; "
        f"an entry holding a {kind or 'resource'} is posted to {kind or 'its type'!r} (optionally after the base URL)."
    )
    return [Issue("error", "invalid", message, entry_path(index, "request.url"))]


def if_none_exist(text: object) -> tuple[tuple[str, str], ...] | None:
    """The (system, value) pairs of a conditional create's search, when it is one this server does: one or more
    ``identifier=system|value`` (each with both a system and a value, no comma, no modifier); else None."""
    if not isinstance(text, str) or not text.strip():
        return None
    pairs = []
    for part in text.strip().split("&"):
        name, equals, value = part.partition("=")
        system, bar, code = unquote(value).partition("|")
        if name != "identifier" or not equals or not bar or not system or not code or "," in unquote(value):
            return None
        pairs.append((system, code))
    return tuple(pairs)


def _if_none_exist_problems(text: Any, kind: str, index: int) -> list[Issue]:
    where = entry_path(index, "request.ifNoneExist")
    if kind not in CONDITIONAL_TYPES:
        message = (
            f"Bundle.entry[{index}] ({kind or 'no resource type'}): ifNoneExist (conditional create) is not "
            "supported here; only the Patient's entry may carry one. Leave it out."
        )
        return [Issue("error", "not-supported", message, where)]
    if if_none_exist(text) is None:
        message = (
            f"Bundle.entry[{index}]: the ifNoneExist search {text!r} is not one this server does; "
            "send identifier=system|value (the query alone, without 'Patient?')."
        )
        return [Issue("error", "not-supported", message, where)]
    return []


def entry_problems(entries: Sequence[Any]) -> list[Issue]:
    """Every problem with the form of the bundle's entries (see the module's docstring), each naming its entry."""
    problems: list[Issue] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        problems += _resource_problems(entry.get("resource") if isinstance(entry, dict) else None, index)
        if not isinstance(entry, dict):
            continue
        problems += _full_url_problems(entry, index, seen)
        problems += _request_problems(entry, index)
    return problems


def _path(steps: tuple[Any, ...] | None) -> str:
    """The FHIRPath of a walked node from its chain of (parent, step)."""
    parts = []
    while steps is not None:
        steps, step = steps
        parts.append(step)
    return "".join(reversed(parts))


def _references(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, reference) of every Reference.reference in ``value``, at any depth, in the document's order.
    Walked with a list, not by recursion, and each node's path is written only for a reference: the size and
    depth of what a client sends are the client's choice."""
    waiting: list[tuple[Any, tuple[Any, ...]]] = [(value, (None, path))]
    while waiting:
        node, steps = waiting.pop()
        if isinstance(node, dict):
            if isinstance(node.get("reference"), str) and set(node) <= _REFERENCE_KEYS:
                yield _path(steps), node["reference"]
            waiting += reversed([(child, (steps, f".{key}")) for key, child in node.items()])
        elif isinstance(node, list):
            waiting += reversed([(child, (steps, f"[{position}]")) for position, child in enumerate(node)])


def _bundled(entries: Sequence[dict[str, Any]]) -> tuple[set[str], set[tuple[str, str]]]:
    """The fullUrls of the entries, and the (type, id) of their resources (and of absolute fullUrls)."""
    full_urls = {e["fullUrl"] for e in entries if isinstance(e.get("fullUrl"), str)}
    identities = {(e["resource"]["resourceType"], e["resource"].get("id")) for e in entries}
    for full_url in full_urls:
        parts = full_url.rstrip("/").split("/")
        if _ABSOLUTE.match(full_url) and len(parts) >= 2:
            identities.add((parts[-2], parts[-1]))
    return full_urls, identities


def _reference_problem(
    reference: str, path: str, full_urls: set[str], identities: set[tuple[str, str]]
) -> Issue | None:
    where = (f"{path}.reference",)
    if reference.startswith("#") or reference in full_urls:
        return None
    if reference.startswith(("urn:uuid:", "urn:oid:")):
        message = f"{path}: the reference {reference} is dangling: no entry of the Bundle has that fullUrl."
        return Issue("error", "not-found", message, where)
    relative = _RELATIVE.match(reference)
    if relative:
        kind, wanted = relative.group(1), relative.group(2)
        if (kind, wanted) in identities:
            return None
        message = f"{path}: the reference {reference} is dangling: the Bundle holds no {kind} with id {wanted}."
        return Issue("error", "not-found", message, where)
    if _CONDITIONAL.match(reference):
        message = (
            f"{path}: the conditional reference {reference} is not resolved by this server; send the resource "
            "in the Bundle and refer to its fullUrl."
        )
        return Issue("error", "not-supported", message, where)
    if _ABSOLUTE.match(reference):
        return None  # outside the bundle: allowed, not followed
    message = f"{path}: {reference!r} is not a reference (urn:uuid:, urn:oid:, Type/id or an absolute URL)."
    return Issue("error", "invalid", message, where)


def reference_problems(entries: Sequence[dict[str, Any]]) -> list[Issue]:
    """Every reference in the entries that the bundle does not resolve (see the module's docstring). The entries
    are well formed (``entry_problems`` found nothing)."""
    full_urls, identities = _bundled(entries)
    problems = []
    for index, entry in enumerate(entries):
        for path, reference in _references(entry, f"Bundle.entry[{index}]"):
            problem = _reference_problem(reference, path, full_urls, identities)
            if problem is not None:
                problems.append(problem)
    return problems


# ---------------------------------------------------------------------------------------------- the answer


def entry_index(issue: Issue) -> int | None:
    """The request entry an issue is about (its ``Bundle.entry[i]`` location), or None."""
    for expression in issue.expression:
        found = _ENTRY.match(expression)
        if found:
            return int(found.group(1))
    return None


def _located(status: str, reference: str, stored: Mapping[str, Json]) -> Json:
    """An entry's response naming a stored resource: its location (Type/id/_history/version), etag and
    lastModified, as a read of it gives them."""
    meta = stored[reference]
    response: Json = {
        "status": status,
        "location": f"{reference}/_history/{meta['versionId']}",
        "etag": f'W/"{meta["versionId"]}"',
    }
    if "lastUpdated" in meta:
        response["lastModified"] = meta["lastUpdated"]
    return response


def _created_response(entry_type: str, issues: list[Issue], stored: Mapping[str, Json]) -> Json:
    """201 Created naming the resource the entry became (the one of the entry's type, if it made more)."""
    created = [i.created for i in issues if i.created]
    reference = next((r for r in created if r.split("/")[0] == entry_type), created[0])
    return _located("201 Created", reference, stored)


def transaction_response(
    entry_types: Sequence[str],
    issues: Sequence[Issue],
    stored: Mapping[str, Json],
    found: Mapping[int, str] | None = None,
) -> Json:
    """The transaction-response Bundle: one entry per request entry (``entry_types``: each one's resourceType),
    in order, built from the import's ``issues`` by their entry; ``stored`` holds the meta (versionId,
    lastUpdated) of every created resource, as the reads give it, and of every resource ``found``: the entries a
    conditional create matched (entry index: Type/id), answered 200 OK with that resource's location.

    An issue naming no entry of the bundle, an entry neither created nor given a warning saying why it was not
    stored, or a created resource without its meta is a fault of the import, raised as ValueError (before the
    import commits, so nothing is kept).
    """
    by_entry: list[list[Issue]] = [[] for _ in entry_types]
    for issue in issues:
        index = entry_index(issue)
        if index is None or index >= len(entry_types):
            raise ValueError(f"The import's issue names no entry of the Bundle: {issue.diagnostics}")
        by_entry[index].append(issue)
    answered = []
    for index, (entry_type, entry_issues) in enumerate(zip(entry_types, by_entry, strict=True)):
        if found and index in found:
            if found[index] not in stored:
                raise ValueError(f"Bundle.entry[{index}]: no version of {found[index]} was read back.")
            # R4 conditional create, one match: the server ignores the POST and answers 200 OK with the match.
            response = _located("200 OK", found[index], stored)
        elif any(i.created for i in entry_issues):
            missing = [i.created for i in entry_issues if i.created and i.created not in stored]
            if missing:
                raise ValueError(f"Bundle.entry[{index}]: no version of {', '.join(missing)} was read back.")
            response = _created_response(entry_type, entry_issues, stored)
        elif any(i.severity == "warning" for i in entry_issues):
            response = {"status": "200 OK"}
        else:
            raise ValueError(f"Bundle.entry[{index}] was neither created nor reported as not stored.")
        response["outcome"] = operation_outcome(entry_issues)
        answered.append({"response": response})
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": answered}
