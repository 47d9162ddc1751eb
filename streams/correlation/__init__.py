"""News correlation: did a provider's view of a brand change across a news event?"""

from __future__ import annotations

from streams.correlation.evaluate import CORRELATION_VERSION, METRICS, ScoreRow, evaluate
from streams.correlation.store import (
    events_near,
    save_events,
    scores_around,
    stored_events,
    unchanged,
    upsert_correlations,
)

__all__ = [
    "CORRELATION_VERSION",
    "METRICS",
    "ScoreRow",
    "evaluate",
    "events_near",
    "save_events",
    "scores_around",
    "stored_events",
    "unchanged",
    "upsert_correlations",
]
