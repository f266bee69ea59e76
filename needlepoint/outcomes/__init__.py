"""Outcome measures: exact questionnaire scoring, change and responder status, range of motion.

This package's top level imports only pure modules (no Django), because Django apps import it at start-up.
"""

from needlepoint.outcomes.change import Change, ChangeError, change_from_baseline, responder_rules
from needlepoint.outcomes.rom import (
    RomChange,
    RomError,
    movements,
    percent_of_normal,
    rom_change,
    validate_rom,
)
from needlepoint.outcomes.scoring import (
    Instrument,
    InstrumentDataError,
    Score,
    ScoringError,
    instrument,
    instruments,
    score,
)

__all__ = [
    "Change",
    "ChangeError",
    "Instrument",
    "InstrumentDataError",
    "RomChange",
    "RomError",
    "Score",
    "ScoringError",
    "change_from_baseline",
    "instrument",
    "instruments",
    "movements",
    "percent_of_normal",
    "responder_rules",
    "rom_change",
    "score",
    "validate_rom",
]
