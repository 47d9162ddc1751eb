"""``correlations.found``: whether one provider's view of a brand changed across a news event."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Message

Verdict = Literal["effect", "no_effect", "model_version_change", "insufficient_data"]
CorrelatedMetric = Literal["mention_rate", "accuracy", "sentiment", "drift"]


class WindowSummary(BaseModel):
    """One side of the event: the runs in the window, pooled."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    runs: int = Field(ge=0)
    n: int = Field(ge=0)
    value: float | None
    sd: float | None = None
    model_versions: tuple[str, ...] = ()


class CorrelationFound(Message):
    event_id: UUID
    domain: str
    provider: str
    metric: CorrelatedMetric
    published_at: datetime
    window_s: float
    before: WindowSummary
    after: WindowSummary
    effect: float | None = Field(description="after − before.")
    effect_low: float | None = None
    effect_high: float | None = None
    p_value: float | None = None
    test: Literal["two-proportion-z", "welch-t", "none"]
    verdict: Verdict
    reason: str
    correlation_version: str
    computed_at: datetime
