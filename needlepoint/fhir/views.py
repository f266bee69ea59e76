"""The FHIR R4 endpoints under /fhir/R4/: metadata, reads, searches, Patient/$everything, transaction import.

Authentication is the API's: a personal API token (``Authorization: Bearer np_...``, the same ``TokenAuth`` as
/api/v1/) or the signed-in session (CSRF-checked for POST). Requests and responses are
``application/fhir+json`` (``application/json`` is accepted too); every error is an OperationOutcome.
All reads go through ``needlepoint.fhir.records``, which fetches through the access helper and audits.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from functools import wraps
from importlib import metadata
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt

from needlepoint.accounts.models import ApiToken, Membership
from needlepoint.accounts.requests import ClinicRequest
from needlepoint.api import TokenAuth
from needlepoint.fhir import (
    bulk,
    importer,
    mapping,
    paging,
    patient_search,
    practitioners,
    records,
    smart_access,
    smart_server,
)
from needlepoint.fhir import search as searching
from needlepoint.fhir.incoming import BundleRejected
from needlepoint.fhir.mapping import Issue, Json
from needlepoint.fhir.paging import Page, PagingError
from needlepoint.fhir.search import SearchError
from needlepoint.fhir.transaction_bundle import FHIR_ID
from needlepoint.input_guard import read_body

FHIR_JSON = "application/fhir+json"
FHIR_CONTENT_TYPE = f"{FHIR_JSON}; charset=utf-8"
JSON_TYPES = (FHIR_JSON, "application/json")
ACCEPTABLE = (*JSON_TYPES, "application/*", "*/*")
FORMAT_VALUES = ("json", *JSON_TYPES)

View = Callable[..., HttpResponseBase]
STREAM_PIECE_BYTES = 64 * 1024
logger = logging.getLogger(__name__)


def fhir_response(body: Json, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    """A FHIR JSON response (its JSON written by ``_dumps``, as ``streamed_bundle`` writes its pieces)."""
    return HttpResponse(_dumps(body), status=status, content_type=FHIR_CONTENT_TYPE, headers=headers)


def streamed_bundle(request: HttpRequest, bundle: Json, entries: Sequence[Json]) -> StreamingHttpResponse:
    """A Bundle sent while its JSON is written: ``bundle`` (without its entries), then ``entries``, about
    ``STREAM_PIECE_BYTES`` at a time, so that a long record's body never sits in memory as one string. The bytes are
    those ``fhir_response`` sends for the Bundle with ``entries`` in it.

    The entries are built already (no query runs while the body is sent). The first piece is written before this
    returns, so an error in it is still answered as an OperationOutcome; an error in a later piece is logged and
    ends the body early, leaving JSON that no client can mistake for a whole Bundle."""
    if not bundle or "entry" in bundle:
        raise ValueError("streamed_bundle takes a Bundle without its entries")
    pieces = _pieces(bundle, entries)
    first = next(pieces)

    def sent() -> Iterator[bytes]:
        yield first
        try:
            yield from pieces
        except Exception:
            logger.exception("FHIR %s %s failed while its body was sent", request.method, request.path)
            raise

    return StreamingHttpResponse(sent(), content_type=FHIR_CONTENT_TYPE)


def _pieces(bundle: Json, entries: Sequence[Json]) -> Iterator[bytes]:
    """The Bundle's JSON in pieces of ``STREAM_PIECE_BYTES`` or a little more (an entry is never split)."""
    opening = _dumps(bundle).encode()[:-1]  # the entries go in before the Bundle's closing brace
    pending, size = [opening], len(opening)
    separator = b', "entry": ['
    for entry in entries:
        text = separator + _dumps(entry).encode()
        separator = b", "
        pending.append(text)
        size += len(text)
        if size >= STREAM_PIECE_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    pending.append(b"]}" if entries else b"}")
    yield b"".join(pending)


def _dumps(value: Json) -> str:
    """A FHIR resource or Bundle as JSON text: Django's encoder (dates, times, decimals), non-ASCII kept as it is."""
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


def outcome_response(status: int, code: str, diagnostics: str, headers: dict[str, str] | None = None) -> HttpResponse:
    """An error response: an OperationOutcome with one error issue."""
    return fhir_response(mapping.operation_outcome([Issue("error", code, diagnostics)]), status, headers)


def _validation_issues(exc: ValidationError) -> list[Issue]:
    if hasattr(exc, "error_dict"):
        return [
            Issue("error", "invalid", f"{field}: {' '.join(str(m) for e in errors for m in e.messages)}")
            for field, errors in exc.error_dict.items()
        ]
    return [Issue("error", "invalid", message) for message in exc.messages]


def _negotiation_problem(request: HttpRequest, offered_types: tuple[str, ...] = ACCEPTABLE) -> HttpResponse | None:
    wanted = request.GET.get("_format")
    if wanted is not None and wanted not in FORMAT_VALUES:
        return outcome_response(406, "not-supported", f"_format={wanted} is not supported; this server speaks JSON.")
    accept = request.headers.get("Accept", "")
    if wanted is None and accept:
        offered = [part.split(";")[0].strip() for part in accept.split(",")]
        if not any(kind in offered_types for kind in offered):
            return outcome_response(406, "not-supported", f"Cannot answer in {accept}; ask for {FHIR_JSON}.")
    return None


def _authenticate(request: ClinicRequest) -> tuple[Membership | None, bool, HttpResponse | None]:
    """(membership, by session, refusal): the token's membership, else the session's."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token and not token.startswith(ApiToken.PREFIX):
            membership = smart_access.authenticate(request, token)  # an app's SMART token
            if membership is None:
                return None, False, _unauthenticated("The access token is not valid (expired, revoked, or unknown).")
            return membership, False, None
        user = TokenAuth().authenticate(request, token) if scheme.lower() == "bearer" and token else None
        if user is None:
            return None, False, _unauthenticated("The API token is not valid (revoked, or not a token).")
        return request.membership, False, None
    if request.user.is_authenticated:
        membership = getattr(request, "membership", None)
        if membership is None:
            return None, True, outcome_response(403, "forbidden", "You are not a member of any clinic.")
        return membership, True, None
    return None, False, _unauthenticated("Authenticate with an API token: Authorization: Bearer <token>.")


def _unauthenticated(message: str) -> HttpResponse:
    return outcome_response(401, "login", message, headers={"WWW-Authenticate": 'Bearer realm="needlepoint"'})


def fhir_endpoint(*methods: str, public: bool = False, offers: tuple[str, ...] = ACCEPTABLE) -> Callable[[View], View]:
    """Wrap a FHIR view: method check, content negotiation (``offers``: the media types it answers in),
    authentication, errors as OperationOutcome."""

    def decorator(view: View) -> View:
        """The wrapped view, exempt from the CSRF middleware (tokens need none; sessions are checked here)."""

        @csrf_exempt
        @wraps(view)
        def wrapper(request: ClinicRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            """Checks in order: method, format, credentials (and CSRF for a session POST); then the view."""
            if request.method not in methods:
                allowed = ", ".join(methods)
                return outcome_response(405, "not-supported", f"{request.method} is not supported here; use {allowed}.")
            refusal = _negotiation_problem(request, offers)
            if refusal is not None:
                return refusal
            membership = None
            if not public:
                membership, by_session, refusal = _authenticate(request)
                if refusal is not None:
                    return refusal
                if by_session and request.method in ("POST", "DELETE"):
                    csrf_refusal = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, None, (), {})  # type: ignore[arg-type]  # the check never calls the view
                    if csrf_refusal is not None:
                        return outcome_response(
                            403, "forbidden", "CSRF check failed; send the CSRF token with the session."
                        )
            try:
                if membership is not None:
                    smart_access.check(request, membership, kwargs)  # an app's scopes, on every interaction
                return view(request, membership, *args, **kwargs)
            except Http404:
                return outcome_response(404, "not-found", "No such resource in your clinic.")
            except PermissionDenied as exc:
                return outcome_response(403, "forbidden", str(exc) or "Your role does not allow this.")
            except BundleRejected as exc:
                return fhir_response(mapping.operation_outcome(exc.issues), exc.status)
            except ValidationError as exc:
                return fhir_response(mapping.operation_outcome(_validation_issues(exc)), 400)
            except RequestDataTooBig:
                return outcome_response(413, "too-costly", "The request body is too large.")
            except (PagingError, SearchError) as exc:
                return outcome_response(400, "invalid", str(exc))
            except bulk.ExportGone as exc:
                return outcome_response(410, "not-found", str(exc))
            except Exception:
                # A FHIR client reads an OperationOutcome, not the HTML error page; the operator reads the log.
                logger.exception("FHIR %s %s failed", request.method, request.path)
                return outcome_response(500, "exception", "The server failed to answer; the error is logged.")

        return wrapper

    return decorator


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir/R4")


def _pairs(params: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, values in params.lists() for v in values]


def _searchset(
    request: HttpRequest, params: list[tuple[str, str]], found: list[Json], total: int, page: Page
) -> HttpResponse:
    """One page of a search as a searchset Bundle with its paging links."""
    base, links = _base_and_links(request, params, total, page)
    return fhir_response(mapping.searchset(base, links[0]["url"], found, total, links))


def _streamed_searchset(
    request: HttpRequest, params: list[tuple[str, str]], found: list[Json], total: int, page: Page
) -> StreamingHttpResponse:
    """``_searchset``, sent while it is written (``streamed_bundle``)."""
    base, links = _base_and_links(request, params, total, page)
    head = mapping.searchset(base, links[0]["url"], [], total, links)
    return streamed_bundle(request, head, [mapping.searchset_entry(base, r) for r in found])


def _base_and_links(
    request: HttpRequest, params: list[tuple[str, str]], total: int, page: Page
) -> tuple[str, list[dict[str, str]]]:
    """The server's base URL and a searchset's paging links (search terms of a POST search stay in its body: its
    links carry only the paging, for the client to post the same body to)."""
    url = request.build_absolute_uri(request.path)
    carried = [] if request.method == "POST" else params
    return _base_url(request), paging.links(url, carried, page, total)


def _check_params(params: Any, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(params) - set(allowed) - {"_format", *paging.PAGING_PARAMS})
    if unknown:
        raise ValidationError(
            f"Unsupported search parameter(s): {', '.join(unknown)}. Supported: {', '.join(allowed)}."
        )


# ---------------------------------------------------------------------------------------------- endpoints


def _capability_statement(request: HttpRequest) -> Json:
    """The CapabilityStatement this server answers metadata with (what the other answers that name the
    supported types read them from, so they never differ)."""
    try:
        version = metadata.version("needlepoint")
    except metadata.PackageNotFoundError:
        version = "unknown"
    statement = mapping.capability_statement(_base_url(request), version, timezone.now())
    root = request.build_absolute_uri("/").rstrip("/")
    return smart_server.with_smart_security(bulk.with_bulk_export(statement), root)


def _supported_types(request: HttpRequest) -> list[str]:
    """The resource types the CapabilityStatement lists, in its order."""
    return [entry["type"] for entry in _capability_statement(request)["rest"][0]["resource"]]


@fhir_endpoint("GET", public=True)
def capability(request: HttpRequest, membership: Membership | None) -> HttpResponse:
    """GET metadata: the CapabilityStatement."""
    return fhir_response(_capability_statement(request))


def _version_headers(resource: Json) -> dict[str, str]:
    """ETag and Last-Modified from the resource's meta.versionId and meta.lastUpdated."""
    meta = resource.get("meta", {})
    headers = {"ETag": f'W/"{meta["versionId"]}"'}
    if "lastUpdated" in meta:
        headers["Last-Modified"] = http_date(datetime.fromisoformat(meta["lastUpdated"]).timestamp())
    return headers


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _conditional(request: HttpRequest, headers: dict[str, str]) -> HttpResponse | None:
    """304 when the client's copy is current (If-None-Match, else If-Modified-Since); 412 when If-Match names
    another version (RFC 9110, 13.1-13.2)."""
    current = headers["ETag"].removeprefix("W/")
    if_match = request.headers.get("If-Match")
    if if_match and "*" not in _etags(if_match) and current not in _etags(if_match):
        return outcome_response(412, "conflict", f"The current version is {headers['ETag']}, not {if_match}.")
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match:
        fresh = "*" in _etags(if_none_match) or current in _etags(if_none_match)
        return HttpResponse(status=304, headers=headers) if fresh else None
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    modified = parse_http_date_safe(headers.get("Last-Modified", ""))
    if since is not None and modified is not None and modified <= since:
        return HttpResponse(status=304, headers=headers)
    return None


@fhir_endpoint("GET")
def read(request: HttpRequest, membership: Membership, resource_type: str, resource_id: str) -> HttpResponse:
    """GET {type}/{id}, with ETag and Last-Modified; conditional reads (If-None-Match, If-Modified-Since) answer
    304 when the client's copy is current. ``_elements`` returns only the elements named (tagged SUBSETTED)."""
    wanted = searching.elements(request.GET.getlist("_elements"))
    resource = records.read(membership, resource_type, resource_id)
    headers = _version_headers(resource)
    return _conditional(request, headers) or fhir_response(searching.subsetted(resource, wanted), headers=headers)


@fhir_endpoint("GET")
def vread(
    request: HttpRequest, membership: Membership, resource_type: str, resource_id: str, version_id: str
) -> HttpResponse:
    """GET {type}/{id}/_history/{vid}: the current version. Needlepoint keeps no earlier versions of a record
    (a signed note is never changed and an addendum is a record of its own), so another version is 404."""
    resource = records.read(membership, resource_type, resource_id)
    current = resource["meta"]["versionId"]
    if version_id != current:
        kept = f"only the current one ({current}) is kept"
        message = f"{resource_type}/{resource_id} has no version {version_id}; {kept}."
        return outcome_response(404, "not-found", message)
    return fhir_response(resource, headers=_version_headers(resource))


@fhir_endpoint("GET")
def history(request: HttpRequest, membership: Membership, resource_type: str, resource_id: str) -> HttpResponse:
    """GET {type}/{id}/_history: a history Bundle of the versions kept, which is the current one alone."""
    resource = records.read(membership, resource_type, resource_id)
    return fhir_response(mapping.history_bundle(_base_url(request), request.build_absolute_uri(), resource))


@fhir_endpoint("GET")
def search(request: HttpRequest, membership: Membership, resource_type: str) -> HttpResponse:
    """GET {type}?...: the search parameters of ``needlepoint.fhir.search`` (clinical types by one patient).

    The parameters are in the address, so web servers and proxies write them (names, MRNs) to their access logs;
    ``search_by_post`` takes them in the body instead.
    """
    return _search(request, membership, resource_type, request.GET)


@fhir_endpoint("POST")
def search_by_post(request: HttpRequest, membership: Membership, resource_type: str) -> HttpResponse:
    """POST {type}/_search with the parameters form-encoded in the body (FHIR R4, RESTful API, search): the
    same search as GET, with the terms kept out of addresses and access logs. Parameters in the address are
    combined with those in the body, as the specification says."""
    content_type = request.content_type or ""
    if request.body and content_type != "application/x-www-form-urlencoded":
        wanted = "form-encoded (application/x-www-form-urlencoded)"
        return outcome_response(415, "not-supported", f"Send the parameters {wanted}, not {content_type}.")
    params = request.GET.copy()
    for key, values in request.POST.lists():
        params.setlist(key, params.getlist(key) + values)
    return _search(request, membership, resource_type, params)


def _search(request: HttpRequest, membership: Membership, resource_type: str, params: Any) -> HttpResponse:
    """A search of any type through ``search``'s definitions: unknown parameters refused (or left out under
    ``Prefer: handling=lenient``), the clinical types limited to one patient, the results paged and subsetted."""
    query = searching.parse(
        resource_type,
        _pairs(params),
        lenient=searching.lenient(request.headers),
        extra=(*searching.RESULT_PARAMS, *paging.PAGING_PARAMS),
    )
    page = paging.page_from(params)
    wanted = searching.elements(params.getlist("_elements"))
    if resource_type == "Patient":
        found, total = patient_search.search_patients(membership, query, page)
    elif resource_type == "Questionnaire":
        found, total = records.search_questionnaires(membership, query, page)
    elif resource_type == "Practitioner":
        found, total = practitioners.search(membership, query, page)
    else:
        found, total = records.search_by_patient(membership, resource_type, _one_patient(query), page, query)
    return _searchset(request, list(query.kept), [searching.subsetted(r, wanted) for r in found], total, page)


def _one_patient(query: searching.Query) -> str:
    """The patient a clinical search is limited to: required, and one (the search reads that patient's record)."""
    given = [v for c in query.given("patient") for v in c.values]
    if not given:
        raise ValidationError("Search by patient: patient=<id> is required (with any other parameter).")
    ids = {searching.reference_id(v) for v in given}
    if len(ids) > 1:
        raise ValidationError("Search one patient at a time: patient takes a single id.")
    return ids.pop()


def _care_period(params: Any) -> tuple[date | None, date | None]:
    """$everything's start and end: dates (YYYY-MM-DD), the start not after the end."""
    period = []
    for name in ("start", "end"):
        text = params.get(name)
        try:
            period.append(date.fromisoformat(text) if text is not None else None)
        except ValueError:
            raise ValidationError(f"{name} is a date written YYYY-MM-DD; got {text!r}.") from None
    start, end = period
    if start and end and start > end:
        raise ValidationError("start is after end.")
    return start, end


@fhir_endpoint("GET")
def everything(request: HttpRequest, membership: Membership, resource_id: str) -> StreamingHttpResponse:
    """GET Patient/{id}/$everything: a searchset of everything of the patient the role may read; ``start`` and
    ``end`` keep the care in that period, ``_count`` pages it (500 a page unless asked). The page is streamed:
    the record is read (or taken from the cache) and audited first, then its JSON is written while it is sent."""
    _check_params(request.GET, ("start", "end"))
    page = paging.page_from(request.GET, default=paging.MAX_COUNT)
    start, end = _care_period(request.GET)
    found, total = records.everything(membership, resource_id, page, start, end)
    return _streamed_searchset(request, _pairs(request.GET), found, total, page)


@fhir_endpoint("POST")
def transaction(request: HttpRequest, membership: Membership) -> HttpResponse:
    """POST a transaction Bundle: import its Patient, Conditions and 0-10 pain Observations (all or nothing).

    Query parameters ``condition``, ``icd10`` and ``side`` choose the new episode's condition; without them the
    bundle's one active ICD-10-CM coded Condition does, else the default (other, M79.10, central). The Patient's
    entry may be a conditional create (ifNoneExist, ``importer``'s docstring says what a match does). A bundle that
    is refused (its form, a dangling or conditional reference, its content, a duplicate patient) is answered with
    an OperationOutcome and a 4xx, and nothing is written; the rules are ``needlepoint.fhir.transaction_bundle``'s
    (an absolute reference outside the bundle is allowed, not followed).

    An import is answered 200 with a transaction-response Bundle (FHIR R4, RESTful API, transaction): one entry
    per request entry, in order. An entry that was stored answers 201 Created with the location
    (Type/id/_history/version), etag and lastModified a read of the new resource gives. An entry that is not
    stored (every type but the Patient, its Conditions and its 0-10 pain Observations, and pain Observations that
    are not final) answers 200 OK with no location: the specification has a transaction either succeed in every
    entry or fail as a whole, so an entry the server chose not to keep is no error (4xx) in a response that
    succeeded; its outcome carries the warning that says it was not stored and why. Each entry's response.outcome
    also says what was created from it (the Patient's entry names the episode's Condition too, which answers no
    entry of its own) and what was noted (roundings, what was not kept). The entries carry no resource, as under
    Prefer: return=minimal. The Location header names the new Patient (absolute), as the import's answer always
    has, for clients that read only the headers.
    """
    if request.content_type not in JSON_TYPES:
        return outcome_response(415, "not-supported", f"Send the Bundle as {FHIR_JSON}.")
    try:
        bundle = json.loads(read_body(request))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return outcome_response(400, "structure", f"The body is not valid JSON: {exc}.")
    default = importer.DEFAULT_CONDITION
    named = any(name in request.GET for name in ("condition", "icd10", "side"))
    condition = (
        (
            request.GET.get("condition", default[0]),
            request.GET.get("icd10", default[1]),
            request.GET.get("side", default[2]),
        )
        if named
        else None  # chosen from the bundle's Conditions, else the default (importer.import_bundle)
    )
    result = importer.import_bundle(membership, bundle, condition=condition)
    return fhir_response(result.response, headers={"Location": f"{_base_url(request)}/Patient/{result.patient.pk}"})


# ---------------------------------------------------------------------------------------------- anything else

TYPE_NAME = re.compile(r"^[A-Z][A-Za-z]+$")


def _unsupported(path: str, method: str, types: list[str]) -> HttpResponse:
    """What an address under the R4 base that no route takes answers: which part is wrong (``types``: the
    supported resource types, as the CapabilityStatement lists them)."""
    parts = path.strip("/").split("/")
    head, known = parts[0], parts[0] in types
    if head in ("_search", "_history") or (known and parts[1:2] == ["_history"]):
        level = "system" if head.startswith("_") else "type"
        what = "search" if head == "_search" else "history"
        return outcome_response(405, "not-supported", f"The {level}-level {what} is not supported; see metadata.")
    if known and len(parts) >= 2 and not FHIR_ID.match(parts[1]):
        return outcome_response(400, "invalid", f"{parts[1]!r} is not a FHIR id (A-Z, a-z, 0-9, - and ., 1-64 long).")
    if known:
        return outcome_response(404, "not-supported", f"{method} {path} is not an interaction this server supports.")
    if TYPE_NAME.match(head):
        supported = ", ".join(types)
        return outcome_response(404, "not-supported", f"Resource type {head} is not supported; supported: {supported}.")
    return outcome_response(404, "not-found", f"No FHIR endpoint at /fhir/R4/{path}.")


@csrf_exempt
def unknown(request: HttpRequest, path: str) -> HttpResponse:
    """Any /fhir/ address no route takes: an OperationOutcome saying what is wrong, never the HTML 404 page.
    It reads no data, so it asks for no credentials."""
    if not path.startswith("R4/"):
        return outcome_response(404, "not-found", f"No FHIR endpoint at /fhir/{path}; the FHIR R4 base is /fhir/R4.")
    return _unsupported(path.removeprefix("R4/"), request.method or "GET", _supported_types(request))
