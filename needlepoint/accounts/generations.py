"""Values kept in the shared cache (the database cache every worker reads) until a write changes what they show:
the dashboard's re-assessment board (``outcomes.board_cache``), the dashboard's lists (``visits.dashboard``) and
parts of a patient's pages (``patients.page``: the patient page's body, a signed visit's, an episode's progress, the
patient's FHIR record).

A stored value carries the *generations* it was worked out under. A generation is a value kept in the cache per
kind (``Generation``) and owner (a clinic, or one patient), which every write that changes the kind's inputs
removes (``Generation.end``, called by that kind's receivers). A value stored under a generation that is no longer the
clinic's current one is not shown but worked out again, so a write made through the product shows at once.

The next read after a write starts a new generation, a fresh random value, not a count: the database cache has
no atomic increment, and two workers counting from the same value would start the same next one. A write
removes the generation when its transaction commits, so a value worked out meanwhile from the rows before the
write carries a generation that is gone and is not shown again; removing costs one query, where storing a value
costs three. A value is neither read nor stored inside a transaction (there, the transaction's own writes are
not yet announced).

Writes that bypass the ORM's save and delete (bulk imports, ``QuerySet.update``, raw SQL, the demo builder) are
not seen by receivers: for them a stored value lives its ``seconds`` at most, and so does anything it shows that
changes by the clock alone.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connection, connections, router, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from needlepoint.accounts import audit

logger = logging.getLogger(__name__)

GENERATION_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Generation:
    """One kind of stored value's generations, one per owner: a clinic, or a patient (``name`` is part of the cache
    key and says which)."""

    name: str

    def key(self, owner_id: int) -> str:
        """The cache key of the owner's current generation of this kind."""
        return f"{self.name}-generation:{owner_id}"

    def end(self, owner_id: int) -> None:
        """The owner's stored values of this kind are out of date: end the generation when the current
        transaction commits (at once outside a transaction). Announced once per transaction, however many rows it
        writes."""
        if connection.in_atomic_block and any(
            isinstance(callback, _EndGeneration) and callback.key == self.key(owner_id)
            for _, callback, *_ in connection.run_on_commit
        ):
            return
        # robust: the write has committed by then; should the cache be unreachable, the write still succeeds (its
        # change shows once the stored values expire) rather than answering with an error.
        transaction.on_commit(_EndGeneration(self.key(owner_id)), robust=True)


class _EndGeneration:
    """The commit hook that ends a generation (an object, so a transaction announces a clinic once)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self) -> None:
        cache.delete(self.key)


def membership_day_key(kind: str, value_format: int, membership: Any, today: date, *more: str) -> str:
    """The cache key of a value worked out for one membership (its role, and a one-patient limit if any) on one
    clinic day; ``value_format`` is raised by a release that changes the stored value's shape."""
    only = getattr(membership, "only_patient_id", None)
    parts = (kind, str(value_format), str(membership.pk), membership.role, str(only or "-"), today.isoformat(), *more)
    return ":".join(parts)


def stored(
    generations: Sequence[tuple[Generation, int]],
    key: str,
    work_out: Callable[[], dict[str, Any]],
    seconds: int,
    *,
    on_hit: Callable[[dict[str, Any]], None] | None = None,
    shape: Iterable[str] = (),
) -> dict[str, Any]:
    """The value stored under ``key`` while each of ``generations`` (a kind and its owner) is unchanged (one query),
    else ``work_out()``, stored for ``seconds`` under the generations read before it was worked out.

    ``work_out`` returns plain values only (numbers, text, dates, lists, dicts), so a stored value never holds a
    model instance from an older release; a stored value without each of the keys ``shape`` names is worked out
    again, and one that carries ``keep_seconds`` is kept no longer than that. ``on_hit`` is called with a value read
    from the cache (not with one just worked out): what the value's working out did besides returning it, such as
    recording the reads in the audit trail, it does again.
    """
    if connection.in_atomic_block:
        return work_out()
    keys = [generation.key(owner_id) for generation, owner_id in generations]
    try:
        found = cache.get_many([*keys, key])
    except Exception:  # an unreachable cache or an unreadable value: the value is worked out, the page still shown
        logger.warning("stored %s unreadable; working it out", key, exc_info=True)
        return work_out()
    current = [found.get(k) for k in keys]
    value = found.get(key)
    if (
        None not in current
        and isinstance(value, dict)
        and value.get("generations") == current
        and all(name in value for name in shape)
    ):
        if on_hit is not None:
            on_hit(value)
        return value
    try:
        current = [_started(k) if c is None else c for k, c in zip(keys, current, strict=True)]
    except Exception:
        logger.warning("stored %s unwritable; it is not stored", key, exc_info=True)
        return work_out()
    value = work_out()
    # A value that shows something the clock changes sooner keeps only until then (none left: not stored).
    seconds = min(seconds, value.get("keep_seconds", seconds))
    if None not in current and seconds > 0:
        try:
            cache.set(key, {**value, "generations": current}, seconds)
            purge_expired()
        except Exception:
            logger.warning("stored %s unwritable; it is not stored", key, exc_info=True)
    return value


def stored_with_reads(
    generations: Sequence[tuple[Generation, int]],
    key: str,
    work_out: Callable[[], dict[str, Any]],
    seconds: int,
    *,
    shape: Iterable[str] = (),
) -> dict[str, Any]:
    """``stored``, for a value a request shows (with the language and time zone it was worked out in, in the key):
    the reads that working it out recorded in the audit trail are kept with it and recorded again, by the current
    actor, each time it is served from the cache, so a stored value leaves the trail a worked-out one leaves.
    Outside an audit event (a command's, a script's) reads are written at once and cannot be collected: the value
    is worked out and not stored."""
    if not audit.in_event():
        return work_out()
    key = ":".join((key, translation.get_language() or "-", timezone.get_current_timezone_name()))

    def with_reads() -> dict[str, Any]:
        with audit.reads_recorded() as reads:
            value = work_out()
        return {**value, "reads": reads}

    return stored(
        generations,
        key,
        with_reads,
        seconds,
        on_hit=lambda value: audit.record_again(value["reads"]),
        shape=(*shape, "reads"),
    )


def stored_html(
    request: HttpRequest,
    generations: Sequence[tuple[Generation, int]],
    key: str,
    template: str,
    work_out_context: Callable[[], dict[str, Any]],
    seconds: int,
    *,
    keep_seconds: Callable[[dict[str, Any]], int] | None = None,
) -> SafeString:
    """A part of a page as HTML (``template``): the one stored under ``key`` while ``generations`` are unchanged
    (``stored_with_reads``), else rendered from ``work_out_context()`` and stored for ``seconds``, or for
    ``keep_seconds(context)`` when that is sooner.

    It is rendered without the request, from its context alone, so nothing of one request or user can be stored
    for another; a random marker stands for the CSRF token in its forms and is replaced by the request's own token
    when served.
    """

    def work_out() -> dict[str, Any]:
        marker = secrets.token_hex(16)  # unguessable, so no text a user typed (a name) can stand for the token
        context = {**work_out_context(), "csrf_token": marker}
        # Before rendering: a change by the clock while rendering then shortens the keep rather than being missed.
        keep = {} if keep_seconds is None else {"keep_seconds": keep_seconds(context)}
        return {"html": render_to_string(template, context), "marker": marker, **keep}

    found = stored_with_reads(generations, key, work_out, seconds, shape=("html", "marker"))
    # The token is letters and digits: putting it in leaves the HTML as safe as it was rendered.
    html: str = found["html"]
    return mark_safe(html.replace(found["marker"], get_token(request)))


def end_on_writes(
    generation: Generation, labels: Iterable[str], uid: str, owner_of: Callable[[Model], int | None] | None = None
) -> None:
    """Connect receivers that end ``generation`` after a save or delete of a row of the models ``labels`` names,
    for the row's owner (``owner_of``; by default its clinic). ``uid`` names the receivers."""

    def changed(sender: type[Model], instance: Model, raw: bool = False, **_: Any) -> None:
        owner = None if raw else (owner_of or clinic_of)(instance)
        if owner is not None:
            generation.end(owner)

    for label in labels:
        post_save.connect(changed, sender=label, weak=False, dispatch_uid=f"{uid}_saved_{label}")
        post_delete.connect(changed, sender=label, weak=False, dispatch_uid=f"{uid}_deleted_{label}")


def end_on_user_renames(generation: Generation, uid: str) -> None:
    """Connect a receiver that ends ``generation`` of each clinic whose stored values may show a saved user's name
    (``clinics_shown_user``). A user is never deleted (memberships and audit entries protect it)."""

    def saved(sender: type[Model], instance: Model, raw: bool = False, update_fields: Any = None, **_: Any) -> None:
        for clinic_id in [] if raw else clinics_shown_user(instance, update_fields):
            generation.end(clinic_id)

    post_save.connect(saved, sender="accounts.User", weak=False, dispatch_uid=f"{uid}_user_saved")


def purge_expired() -> None:
    """Delete the shared cache's expired values (one indexed query). Django's database cache deletes an expired
    value only when its key is read again or the table is full, and a stored value may name patients (the
    dashboard's lists): so each value stored removes those whose time has passed, as Django's cull does first."""
    backend = caches[DEFAULT_CACHE_ALIAS]  # ``cache`` is a proxy to it
    if not isinstance(backend, DatabaseCache):
        return
    database = connections[router.db_for_write(backend.cache_model_class)]
    table = database.ops.quote_name(backend.cache_model_class._meta.db_table)
    now = timezone.now().replace(microsecond=0)
    with database.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE {database.ops.quote_name('expires')} < %s",
            [database.ops.adapt_datetimefield_value(now)],
        )


def clinic_of(instance: Model) -> int:
    """The clinic a saved row belongs to (a clinic is its own)."""
    if instance._meta.label == "accounts.Clinic":
        return int(instance.pk)
    return int(instance.serializable_value("clinic"))


# A user's sign-in and password change leave every stored value (they show a user's name only).
USER_SAVES_UNSHOWN = frozenset({"last_login", "password"})


def clinics_shown_user(instance: Model, update_fields: Any) -> list[int]:
    """After a user is saved: the clinics whose stored values may show the user's name (each clinic the user is a
    member of), or none when the save changed no more than a sign-in or a password does."""
    if update_fields is not None and set(update_fields) <= USER_SAVES_UNSHOWN:
        return []
    from needlepoint.accounts.models import Membership

    return list(Membership.objects.filter(user_id=instance.pk).values_list("clinic_id", flat=True))


def saving_changes(
    sender: type[Model], instance: Model, fields: Sequence[str], update_fields: Any, *, new_row_changes: bool
) -> bool:
    """Before ``instance`` is saved (pre_save): whether the save changes any of ``fields`` (as stored now), or
    adds a row when ``new_row_changes``. A row saved for reasons the stored values do not read (a visit's draft
    note, a patient's address) then leaves them."""
    if instance._state.adding or instance.pk is None:
        return new_row_changes
    if update_fields is not None and not {f.removesuffix("_id") for f in fields} & {
        f.removesuffix("_id") for f in update_fields
    }:
        return False
    before = sender._default_manager.filter(pk=instance.pk).values_list(*fields).first()
    return before != tuple(getattr(instance, f) for f in fields)


def _started(generation_key: str) -> Any:
    """Start a generation (the first read since a write, or since it was culled). Another worker may have started
    it meanwhile; then that one is the owner's."""
    started = secrets.token_hex(8)
    if cache.add(generation_key, started, GENERATION_SECONDS):
        return started
    return cache.get(generation_key)
