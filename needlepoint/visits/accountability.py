"""Needle accountability: every needle opened is counted in, counted out and put in sharps.

Pure Python, no Django. A visit records four running counts of needles (not insertions: one needle moved
within a muscle is still one needle):

- ``opened``: needles taken out of their sterile packs;
- ``inserted``: needles that went into the patient;
- ``removed``: needles taken out of the patient;
- ``sharps``: needles put in the sharps container.

The counts must always obey (``validate_counts``):

1. every count is a whole number, zero or more (zero is a visit where nothing has happened yet);
2. inserted <= opened: a needle must be opened before it goes in;
3. removed <= inserted: more needles out than in means a miscount;
4. sharps <= opened - (inserted - removed): a needle still in the patient cannot be in the sharps
   container.

A visit is balanced when every needle opened is in sharps, which implies every needle inserted was removed
(recording needles in and counting them out follows the Clean Needle Technique manual [S18]; used needles
go straight into sharps [S14, S27]). Otherwise the missing needles are unaccounted for, and the visit can be
signed only with a "needle unaccounted for" incident that says how many, the search made and the action
taken. Each needling entry has at least one needle (``total_inserted``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeGuard


class AccountabilityError(ValueError):
    """Needle counts that cannot be true; ``problems`` lists each broken rule."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("Needle counts are not possible:\n- " + "\n- ".join(self.problems))


@dataclass(frozen=True)
class Reconciliation:
    """Where every needle of a visit is, in numbers and in words."""

    opened: int
    inserted: int
    removed: int
    sharps: int
    not_removed: int
    not_in_sharps: int
    missing: int
    balanced: bool
    message: str = ""


@dataclass(frozen=True)
class Incident:
    """A "needle unaccounted for" incident: how many needles, how they were searched for, what was done."""

    needles_unaccounted: int
    search_made: str
    action_taken: str


def validate_counts(opened: int, inserted: int, removed: int, sharps: int) -> None:
    """Raise AccountabilityError listing every rule the counts break (see the module docstring)."""
    counts = {"opened": opened, "inserted": inserted, "removed": removed, "in sharps": sharps}
    problems = [p for p in (_count_problem(name, value) for name, value in counts.items()) if p]
    if all(_is_whole(value) for value in counts.values()):
        problems += _order_problems(opened, inserted, removed, sharps)
    if problems:
        raise AccountabilityError(problems)


def _is_whole(value: object) -> TypeGuard[int]:
    # bool is an int in Python, but True needles is a bug in the caller, not a count.
    return isinstance(value, int) and not isinstance(value, bool)


def _count_problem(name: str, value: object) -> str:
    if not _is_whole(value):
        return f"Needles {name} must be a whole number, not {value!r}."
    if value < 0:
        return f"Needles {name} cannot be negative ({value})."
    return ""


def _order_problems(opened: int, inserted: int, removed: int, sharps: int) -> list[str]:
    problems = []
    if inserted > opened:
        problems.append(f"More needles inserted ({inserted}) than opened ({opened}).")
    if removed > inserted:
        problems.append(f"More needles removed ({removed}) than inserted ({inserted}).")
    in_patient = max(inserted - removed, 0)
    if not problems and sharps >= 0 and sharps > opened - in_patient:
        problems.append(
            f"More needles in sharps ({sharps}) than could be there: {opened} opened and "
            f"{in_patient} still in the patient leave at most {opened - in_patient}."
        )
    return problems


def total_inserted(entry_counts: Sequence[int]) -> int:
    """The needles inserted in a visit, from each needling entry's count; each entry needs 1 or more."""
    problems = []
    for number, count in enumerate(entry_counts, start=1):
        problem = _count_problem(f"inserted in entry {number}", count)
        if not problem and count == 0:
            problem = f"Needling entry {number} has no needles; remove the entry or record its needles."
        if problem:
            problems.append(problem)
    if problems:
        raise AccountabilityError(problems)
    return sum(entry_counts)


def reconciliation(opened: int, inserted: int, removed: int, sharps: int) -> Reconciliation:
    """Where every needle is; valid at any moment of the visit, not only at the end."""
    validate_counts(opened, inserted, removed, sharps)
    not_removed = inserted - removed
    not_in_sharps = opened - not_removed - sharps
    missing = not_removed + not_in_sharps
    counts = Reconciliation(opened, inserted, removed, sharps, not_removed, not_in_sharps, missing, missing == 0)
    return replace(counts, message=_message(counts))


def _message(counts: Reconciliation) -> str:
    summary = (
        f"{_needles(counts.opened)} opened, {counts.inserted} inserted, "
        f"{counts.removed} removed, {counts.sharps} in sharps"
    )
    if counts.balanced:
        return f"All needles accounted for: {summary}."
    parts = []
    if counts.not_removed:
        parts.append(f"{_needles(counts.not_removed)} inserted and not removed")
    if counts.not_in_sharps:
        parts.append(f"{_needles(counts.not_in_sharps)} removed or unused but not in sharps")
    return f"{'; '.join(parts)} ({summary})."


def can_sign(reconciliation: Reconciliation, unaccounted_incident: Incident | None) -> tuple[bool, str]:
    """Whether the visit may be signed, and why (or why not), as far as needles are concerned."""
    if reconciliation.balanced:
        return True, reconciliation.message
    if unaccounted_incident is None:
        return False, (
            f"Cannot sign: {reconciliation.message} Find the needles, or record a 'needle unaccounted for' "
            "incident with the search made and the action taken."
        )
    problem = _incident_problem(reconciliation, unaccounted_incident)
    if problem:
        return False, f"Cannot sign: {problem}"
    return True, (
        f"{reconciliation.message} May be signed with the 'needle unaccounted for' incident recorded: "
        f"search made: {unaccounted_incident.search_made.strip()}; "
        f"action taken: {unaccounted_incident.action_taken.strip()}."
    )


def _incident_problem(reconciliation: Reconciliation, incident: Incident) -> str:
    if incident.needles_unaccounted != reconciliation.missing:
        return (
            f"the incident records {_needles(incident.needles_unaccounted)} unaccounted for, "
            f"but the counts leave {_needles(reconciliation.missing)} unaccounted for."
        )
    described = {"the search made": incident.search_made, "the action taken": incident.action_taken}
    missing = [label for label, text in described.items() if not (isinstance(text, str) and text.strip())]
    return f"the incident must describe {' and '.join(missing)}." if missing else ""


def _needles(count: int) -> str:
    return f"{count} needle" if count == 1 else f"{count} needles"
