"""Outcome measures: exact questionnaire scoring, change and responder status, range of motion.

This package's top level is kept free of Django imports because Django apps import it at start-up.
"""

from needlepoint.outcomes.scoring import (
    Instrument,
    InstrumentDataError,
    Score,
    ScoringError,
    instrument,
    instruments,
    score,
)

__all__ = ["Instrument", "InstrumentDataError", "Score", "ScoringError", "instrument", "instruments", "score"]
