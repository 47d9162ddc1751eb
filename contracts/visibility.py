"""``visibility.scores``: how visible one tracked brand is in one project run, in one scope (a
prompt × provider cell, or rolled up per topic, per provider or over all), each number with its
sample size and 95 % interval, computed from stored extractions."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from contracts.base import Message
from contracts.calls import Mode
from contracts.scores import Metric, MetricChange

ALL = "all"


class VisibilityScore(Message):
    run_id: UUID
    project: str
    brand: str = Field(description="The tracked brand's domain.")
    own: bool = Field(description="The project's own brand (else a competitor).")
    mode: Mode = Field(default="memory", description="How the run's answers were asked: from "
                                                     "memory, or with web search (retrieval).")
    provider: str = Field(description=f'A provider, or "{ALL}".')
    topic: str = Field(description=f'A topic, or "{ALL}".')
    prompt_id: str = Field(description=f'A tracked prompt, or "{ALL}".')
    extractor_version: str
    metrics_version: str
    run_created_at: datetime
    samples: int = Field(ge=0, description="Answers in the scope: the samples every metric "
                                           "counts from.")
    visibility: Metric
    share_of_voice: Metric
    position: Metric
    sentiment: Metric
    rank_distribution: dict[str, int] = Field(
        default_factory=dict, description="Answers that ranked the brand, by rank.")
    previous_run_id: UUID | None = None
    changes: tuple[MetricChange, ...] = ()
    computed_at: datetime
