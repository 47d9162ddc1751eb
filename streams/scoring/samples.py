"""From validated answers to one observation per sample: the unit every interval counts.

A sample is one of the k independent draws of a (domain, provider) cell; its prompts are asked
of the same draw, so their verdicts are not independent of each other. Counting each sample once
keeps the intervals honest:

- recognised: at least one answer mentions the brand and none declines;
- facts: each fact counts once per sample, correct only when every answer of the sample that
  states it states it correctly;
- position, sentiment: the mean over the sample's answers that have one."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ValidationRow:
    """One row of the ``validations`` table, as scoring reads it."""

    provider: str
    model_version: str | None
    prompt_id: str
    sample: int
    mentioned: bool
    declined: bool
    position: int | None
    sentiment: float | None
    facts_checked: int
    facts_correct: int
    fact_checks: Sequence[Mapping[str, Any]]
    validator_version: str


@dataclass(frozen=True)
class SampleObservation:
    provider: str
    sample: int
    recognised: bool
    position: float | None
    sentiment: float | None
    facts_checked: int
    facts_correct: int


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _facts(rows: Sequence[ValidationRow]) -> tuple[int, int]:
    verdicts: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        if row.fact_checks:
            for check in row.fact_checks:
                if check.get("correct") is not None:
                    verdicts[str(check["fact"])].append(bool(check["correct"]))
        elif row.facts_checked:
            # A validator that only counted: its facts cannot be matched across prompts.
            for index in range(row.facts_checked):
                verdicts[f"{row.prompt_id}#{index}"].append(index < row.facts_correct)
    return len(verdicts), sum(1 for found in verdicts.values() if all(found))


def observe(rows: Iterable[ValidationRow]) -> list[SampleObservation]:
    """One observation per (provider, sample), sorted, so sums run in a fixed order."""
    by_sample: dict[tuple[str, int], list[ValidationRow]] = defaultdict(list)
    for row in rows:
        by_sample[(row.provider, row.sample)].append(row)
    observations = []
    for (provider, sample), group in sorted(by_sample.items()):
        group.sort(key=lambda r: r.prompt_id)
        checked, correct = _facts(group)
        observations.append(SampleObservation(
            provider=provider,
            sample=sample,
            recognised=any(r.mentioned for r in group) and not any(r.declined for r in group),
            position=_mean([float(r.position) for r in group if r.position is not None]),
            sentiment=_mean([r.sentiment for r in group if r.sentiment is not None]),
            facts_checked=checked,
            facts_correct=correct,
        ))
    return observations
