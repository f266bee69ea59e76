"""The one place every request's text is checked before any view parses it: pages, the API and FHIR alike.

A value that no field may hold is refused with a clear 400 and nothing runs: a NUL character (PostgreSQL
refuses to store it, so it surfaced as a server error after the work was done), a date or date-time outside
the years any field can mean (the day after 9999-12-31 overflows), and a time-zone offset beyond +/-15:59
(PostgreSQL's limit; Python accepts up to 23:59). Values are the query string, form fields (not uploaded
files) and every string in a JSON body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from needlepoint.inputs import (
    FIRST_ACCEPTED_DATE,
    LAST_ACCEPTED_DATE,
    acceptable_date,
    has_lone_surrogate,
    has_nul,
)

# A whole value that is an ISO 8601 date or date-time (as the API, FHIR and date inputs write them).
ISO_MOMENT = re.compile(
    r"(?P<year>[+-]?\d{4,6})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|z|(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2}))?)?"
)
LARGEST_OFFSET_HOURS = 15
JSON_TYPES = ("application/json", "application/fhir+json")


def problem_with(value: str) -> str | None:
    """Why a single text value cannot be accepted by any field, or None."""
    if has_nul(value):
        return "Text may not contain a NUL character (\\0); remove it and send again."
    if has_lone_surrogate(value):
        return "Text holds a broken character (an unpaired UTF-16 surrogate); retype it and send again."
    moment = ISO_MOMENT.fullmatch(value.strip())
    if moment is None:
        return None
    if moment["hours"] is not None and (int(moment["hours"]) > LARGEST_OFFSET_HOURS or int(moment["minutes"]) > 59):
        return f"{value!r}: a time-zone offset runs from -15:59 to +15:59."
    try:
        day = date(int(moment["year"]), int(moment["month"]), int(moment["day"]))
    except ValueError:
        return None  # not a calendar date: the field's own parser says so in its words
    if not acceptable_date(day):
        return (
            f"{value!r}: no record or report can use this date; "
            f"use one from {FIRST_ACCEPTED_DATE.isoformat()} to {LAST_ACCEPTED_DATE.isoformat()}."
        )
    return None


def _json_strings(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) for every string in a JSON document, keys included."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}" if path else str(key), str(key)
            yield from _json_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, f"{path}[{index}]")


FHIR_TRANSACTION_PATH = "/fhir/R4"


def body_limit(request: HttpRequest) -> int | None:
    """The largest body, in bytes, this request may carry (None: no limit).

    A FHIR transaction Bundle (POST to the FHIR base) has its own limit, ``FHIR_TRANSACTION_MAX_BYTES``, since
    one patient's record is about Django's default; every other request keeps ``DATA_UPLOAD_MAX_MEMORY_SIZE``.
    """
    if request.method == "POST" and request.path.rstrip("/") == FHIR_TRANSACTION_PATH:
        fhir_limit: int = settings.FHIR_TRANSACTION_MAX_BYTES
        return fhir_limit
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit


def read_body(request: HttpRequest) -> bytes:
    """The request's body within ``body_limit``, read once; ``RequestDataTooBig`` when it is larger."""
    cached = getattr(request, "_body", None)
    if isinstance(cached, bytes):
        return cached
    limit = body_limit(request)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None and length > limit:
        raise RequestDataTooBig(f"The request body is larger than {limit} bytes.")
    body = request.read()
    # Kept where Django's HttpRequest.body keeps the body it read, so a later ``request.body`` returns the same
    # bytes instead of applying the general limit again.
    request._body = body
    return body


def request_values(request: HttpRequest) -> Iterator[tuple[str, str]]:
    """(field, text) for the address, every query parameter, form field and JSON string of a request."""
    yield "path", request.path
    for key, values in request.GET.lists():
        yield key, key
        for value in values:
            yield key, value
    content_type = request.content_type or ""
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, values in request.POST.lists():
                yield key, key
                for value in values:
                    yield key, value
        elif content_type in JSON_TYPES or content_type.endswith("+json"):
            try:
                body = read_body(request)
            except RequestDataTooBig:
                return  # the endpoint answers a body over the size limit in its own format (FHIR: 413)
            if b"\x00" in body:
                yield "body", "\x00"
                return
            try:
                document = json.loads(body or b"null")
            except (ValueError, UnicodeDecodeError):
                return  # malformed JSON: the endpoint answers it in its own format
            yield from _json_strings(document)


def refusal(request: HttpRequest, field: str, message: str) -> HttpResponse:
    """A 400 in the form the surface speaks: JSON for the API, an OperationOutcome for FHIR, else a page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "errors": {field: [message]}}, status=400)
    if request.path.startswith("/fhir/"):
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", "diagnostics": message, "expression": [field]}],
        }
        return JsonResponse(outcome, status=400, content_type="application/fhir+json")
    return render(request, "input_refused.html", {"message": message}, status=400)


class InputGuardMiddleware:
    """Refuses a request holding a value no field can take (see the module text) before any view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for field, value in request_values(request):
            message = problem_with(value)
            if message is not None:
                return refusal(request, field, message)
        return self.get_response(request)
