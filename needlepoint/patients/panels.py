"""Panels that other apps add to the patient and episode pages.

Each app registers a function returning a template name and its context; the patient page renders them
in order. This keeps the patients app free of imports from visits and outcomes, and each panel's
queries bounded in its own app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    """A block on a page: a template and its context."""

    template: str
    context: dict[str, Any]


PanelMaker = Callable[[Any], Panel | None]
_patient_panel_makers: list[PanelMaker] = []
_episode_panel_makers: list[Callable[[Any], Panel | None]] = []
_dashboard_panel_makers: list[Callable[[Any], Panel | None]] = []


_patient_panel_reads: list[str] = []
_reads_listeners: list[Callable[[tuple[str, ...]], None]] = []


def register_patient_panel(*, reads: tuple[str, ...]) -> Callable[[PanelMaker], PanelMaker]:
    """Decorator: add a panel to the patient page. ``reads`` names the models (``app.Model``) whose rows of the
    patient the panel shows: the patient page keeps its rendered body until one of them is written
    (``patients.page``, which listens through ``on_patient_panel_reads``)."""

    def register(maker: PanelMaker) -> PanelMaker:
        _patient_panel_makers.append(maker)
        _patient_panel_reads.extend(reads)
        for listener in _reads_listeners:
            listener(reads)
        return maker

    return register


def on_patient_panel_reads(listener: Callable[[tuple[str, ...]], None]) -> None:
    """Call ``listener`` with the models each patient panel reads: those registered so far at once, later ones as
    they are registered (the apps that add panels are made ready after this one)."""
    _reads_listeners.append(listener)
    listener(tuple(_patient_panel_reads))


def register_episode_panel(maker: Callable[[Any], Panel | None]) -> Callable[[Any], Panel | None]:
    """Decorator: add a panel to the episode page."""
    _episode_panel_makers.append(maker)
    return maker


def register_dashboard_panel(maker: Callable[[Any], Panel | None]) -> Callable[[Any], Panel | None]:
    """Decorator: add a panel to the dashboard (the maker receives the membership)."""
    _dashboard_panel_makers.append(maker)
    return maker


def dashboard_panels(membership: Any) -> list[Panel]:
    """The dashboard's panels from other apps, for one membership."""
    return [p for p in (make(membership) for make in _dashboard_panel_makers) if p is not None]


def patient_panels(patient: Any) -> list[Panel]:
    """The panels for one patient."""
    return [p for p in (make(patient) for make in _patient_panel_makers) if p is not None]


def episode_panels(episode: Any) -> list[Panel]:
    """The panels for one episode."""
    return [p for p in (make(episode) for make in _episode_panel_makers) if p is not None]


@dataclass(frozen=True)
class TodayEntry:
    """A patient expected or seen today, from another app: when, and what brings them (no clinical content)."""

    patient: Any
    at: Any
    what: str


_today_makers: list[Callable[[Any], list[TodayEntry]]] = []


def register_todays_patients(maker: Callable[[Any], list[TodayEntry]]) -> Callable[[Any], list[TodayEntry]]:
    """Decorator: a source of today's patients for the patient list (called with the membership)."""
    _today_makers.append(maker)
    return maker


def todays_patients(membership: Any) -> list[TodayEntry]:
    """Today's patients from every registered source, each patient once (at their earliest time), in time order."""
    earliest: dict[int, TodayEntry] = {}
    for make in _today_makers:
        for entry in make(membership):
            known = earliest.get(entry.patient.pk)
            if known is None or entry.at < known.at:
                earliest[entry.patient.pk] = entry
    return sorted(earliest.values(), key=lambda e: (e.at, e.patient.pk))
