"""``brand.scores``: what one provider (or all of them) knows about one brand in one run, each
metric with its sample size and 95 % interval, computed from stored responses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Message

ALL_PROVIDERS = "all"

# "delta": a ratio of two sample means, its interval from the delta method (share of voice).
IntervalMethod = Literal["wilson", "student-t", "component-bounds", "delta", "none"]
ChangeTest = Literal["two-proportion-z", "welch-t", "interval-overlap", "delta-z"]


class Metric(BaseModel):
    """A measured value with its sample size and 95 % interval (None when n is too small)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float | None
    n: int = Field(ge=0, description="Samples (or checked facts) the value is computed from.")
    low: float | None = None
    high: float | None = None
    sd: float | None = Field(default=None, description="Sample standard deviation, for means.")
    method: IntervalMethod = "none"


class MetricChange(BaseModel):
    """A metric compared with the previous run of the same domain and provider."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    previous: float | None
    current: float | None
    difference: float | None
    p_value: float | None
    test: ChangeTest
    significant: bool


class BrandScore(Message):
    run_id: UUID
    domain: str
    provider: str = Field(description=f'A provider, or "{ALL_PROVIDERS}" across providers.')
    scoring_version: str
    run_created_at: datetime
    samples: int = Field(ge=0, description="Independent samples (k × providers for all).")
    responses: int = Field(ge=0)
    model_versions: tuple[str, ...]
    versions: dict[str, str] = Field(
        description="What produced the inputs: validator, embedding model, embedder.")
    mention_rate: Metric
    position: Metric
    sentiment: Metric
    accuracy: Metric
    consensus: Metric
    drift: Metric
    composite: Metric
    previous_run_id: UUID | None = None
    changes: tuple[MetricChange, ...] = ()
    computed_at: datetime
