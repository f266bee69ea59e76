"""SMART App Launch 2.0 scopes: parsed, compared and checked, with no Django (a pure module).

A resource scope is ``<context>/<type>.<permissions>``: the context is ``patient`` (the launch patient's data
only), ``user`` (what the signed-in user may see) or ``system`` (a backend service, no user); the type is a
FHIR resource type or ``*``; the permissions are letters of ``cruds`` (create, read, update, delete, search) in
that order (SMART App Launch 2.0.0, "Scopes for requesting clinical data"). The SMART v1 endings are accepted as
aliases: ``.read`` is ``.rs``, ``.write`` is ``.cud``, ``.*`` is ``.cruds``. Granular scopes (``?category=...``)
are refused: the server does not implement them.

A scope never widens what the user's role allows: the FHIR views apply the role after the scope (see
``needlepoint.fhir.smart_access``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTEXTS = ("patient", "user", "system")
PERMISSION_ORDER = "cruds"
V1_ALIASES = {"read": "rs", "write": "cud", "*": "cruds"}

# Scopes that ask for launch context, identity or refresh tokens rather than data.
LAUNCH_SCOPES = {
    "launch": "Open from a patient's page in Needlepoint (EHR launch)",
    "launch/patient": "Choose a patient when the app starts",
    "openid": "Know who you are (OpenID Connect)",
    "fhirUser": "Know who you are (your FHIR user)",
    "offline_access": "Keep access after you sign out (refresh token)",
    "online_access": "Keep access while you are signed in (refresh token)",
}

_RESOURCE_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]{1,63})\.([a-z*]+)$")


class ScopeError(ValueError):
    """A scope string that is not a SMART scope this server understands; the message says which and why."""


@dataclass(frozen=True)
class ResourceScope:
    """One resource scope: its context, its resource type (``*`` for all) and its permission letters."""

    context: str
    resource_type: str
    permissions: frozenset[str]

    def covers(self, resource_type: str, permission: str) -> bool:
        """Whether this scope grants ``permission`` (one of c r u d s) on ``resource_type``."""
        return self.resource_type in ("*", resource_type) and permission in self.permissions

    def within(self, other: ResourceScope) -> bool:
        """Whether every access this scope grants is also granted by ``other``."""
        same_type = other.resource_type in ("*", self.resource_type)
        return other.context == self.context and same_type and self.permissions <= other.permissions

    def text(self) -> str:
        """The v2 spelling: ``patient/Observation.rs``."""
        letters = "".join(p for p in PERMISSION_ORDER if p in self.permissions)
        return f"{self.context}/{self.resource_type}.{letters}"


def _permissions(ending: str, scope: str) -> frozenset[str]:
    letters = V1_ALIASES.get(ending, ending)
    if not letters or any(p not in PERMISSION_ORDER for p in letters):
        raise ScopeError(f"{scope}: the permissions are letters of cruds (or .read/.write), not {ending!r}.")
    if "".join(p for p in PERMISSION_ORDER if p in letters) != letters:
        raise ScopeError(f"{scope}: write the permissions once each, in the order c r u d s.")
    return frozenset(letters)


def parse_one(scope: str) -> ResourceScope | str:
    """A resource scope, or the name of a launch/identity scope; ScopeError for anything else."""
    if scope in LAUNCH_SCOPES:
        return scope
    if "?" in scope:
        raise ScopeError(f"{scope}: granular scopes (with ?) are not supported; ask for the whole type.")
    match = _RESOURCE_SCOPE.match(scope)
    if match is None:
        raise ScopeError(f"{scope}: not a SMART scope (patient|user|system/<Type or *>.<cruds>).")
    context, resource_type, ending = match.groups()
    return ResourceScope(context, resource_type, _permissions(ending, scope))


@dataclass(frozen=True)
class Scopes:
    """A parsed scope string: its resource scopes and its other (launch, identity, refresh) scopes."""

    resource: tuple[ResourceScope, ...]
    other: frozenset[str]

    def contexts_for(self, resource_type: str, permission: str) -> frozenset[str]:
        """The contexts (patient, user, system) in which ``permission`` on ``resource_type`` is granted."""
        return frozenset(s.context for s in self.resource if s.covers(resource_type, permission))

    def within(self, allowed: Scopes) -> bool:
        """Whether every scope here is granted by some scope of ``allowed`` (an app asks for no more than it was
        registered with)."""
        resource_ok = all(any(s.within(a) for a in allowed.resource) for s in self.resource)
        return resource_ok and self.other <= allowed.other

    def text(self) -> str:
        """The scopes as one space-separated string, v2 spelling, in a stable order."""
        return " ".join([*sorted(self.other), *(s.text() for s in self.resource)])

    def __contains__(self, name: str) -> bool:
        return name in self.other


def parse(text: str) -> Scopes:
    """Parse a space-separated scope string; ScopeError naming the first scope that is not understood."""
    resource: list[ResourceScope] = []
    other: set[str] = set()
    for word in text.split():
        parsed = parse_one(word)
        if isinstance(parsed, ResourceScope):
            if parsed not in resource:
                resource.append(parsed)
        else:
            other.add(parsed)
    return Scopes(tuple(resource), frozenset(other))


def describe(scope: str) -> str:
    """A sentence a user can read on the consent page, for one scope."""
    parsed = parse_one(scope)
    if isinstance(parsed, str):
        return LAUNCH_SCOPES[parsed]
    verbs = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
    what = "all records" if parsed.resource_type == "*" else f"{parsed.resource_type} records"
    whose = {
        "patient": "of the chosen patient",
        "user": "you may see",
        "system": "of the clinic (no user)",
    }[parsed.context]
    done = ", ".join(verbs[p] for p in PERMISSION_ORDER if p in parsed.permissions)
    return f"{done.capitalize()} {what} {whose}"


# What a request may reach under its scopes: any record the role may see, or only the launch patient's.
ANY = "any"
PATIENT = "patient"


def decide(scopes: Scopes, resource_type: str, permission: str) -> str | None:
    """Whether ``permission`` on ``resource_type`` is granted, and how widely: a user or system scope reaches any
    record the role may see, a patient scope only the launch patient's; None when no scope grants it."""
    contexts = scopes.contexts_for(resource_type, permission)
    if contexts & {"user", "system"}:
        return ANY
    if "patient" in contexts:
        return PATIENT
    return None
