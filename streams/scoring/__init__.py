"""Scores per brand and provider from stored validations and embeddings: the statistics, the
composite, consensus and drift, and the ``brand_scores`` table."""

from __future__ import annotations

from streams.scoring.composite import composite
from streams.scoring.samples import ValidationRow, observe
from streams.scoring.score import SCORING_VERSION, score_domain
from streams.scoring.stats import (
    ALPHA,
    Difference,
    intervals_overlap,
    mean_t,
    pool_summaries,
    ratio_delta,
    two_proportion_z,
    welch_t,
    wilson,
)
from streams.scoring.store import load_domain_run, neighbour_complete_run, upsert_scores

__all__ = [
    "ALPHA",
    "SCORING_VERSION",
    "Difference",
    "ValidationRow",
    "composite",
    "intervals_overlap",
    "load_domain_run",
    "mean_t",
    "neighbour_complete_run",
    "observe",
    "pool_summaries",
    "ratio_delta",
    "score_domain",
    "two_proportion_z",
    "upsert_scores",
    "welch_t",
    "wilson",
]
