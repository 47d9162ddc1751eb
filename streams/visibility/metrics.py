"""Visibility, share of voice, position and sentiment of every tracked brand, from the stored
extractions of one project run; the unit is the sample (one answer), as in domain scoring.

Scopes: each prompt × provider cell, rolled up per provider, per topic and over all, always by
pooling the answers in the scope (each answer counts once, whatever its cell).

- visibility: answers naming the brand ÷ answers; Wilson 95 % interval.
- share of voice: the brand's mentions ÷ the mentions of all tracked brands, summed over the
  answers (a brand counts once per answer). A ratio of two means over the same answers, so its
  interval is the delta method's: se = sd(y − R·x) / (√n · mean(x)).
- position: the mean rank of the list items naming the brand, over the answers that rank it
  (conditional on being listed); Student t interval; and how many answers gave each rank.
- sentiment: the mean, over the answers naming the brand, of the sentiment of the sentences
  naming it; Student t interval in [−1, 1].

Changes against the previous run of the project: visibility by the two-proportion z-test, share
of voice by a z-test on the two delta-method errors, position and sentiment by Welch's t-test.
A cell is compared only when its prompt has the same version in both runs."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from contracts import ALL, CellSamples, Metric, MetricChange, Mode, Precision, VisibilityScore
from streams.scoring.stats import (
    ALPHA,
    mean_t,
    normal_p,
    ratio_delta,
    two_proportion_z,
    welch_t,
    wilson,
)

METRICS_VERSION = "1"
METRICS = ("visibility", "share_of_voice", "position", "sentiment")


@dataclass(frozen=True, slots=True)
class BrandReading:
    mentioned: bool
    rank: int | None
    sentiment: float | None


@dataclass(frozen=True, slots=True)
class AnswerReading:
    """What the extractor read in one answer, for every tracked brand."""

    call_id: UUID
    provider: str
    prompt_id: str
    prompt_version: int
    topic: str
    brands: Mapping[str, BrandReading]


@dataclass(frozen=True)
class ProjectRunReadings:
    run_id: UUID
    project: str
    run_created_at: datetime
    own: str
    brands: tuple[str, ...]
    extractor_version: str
    answers: tuple[AnswerReading, ...]
    precision: Precision | None = None
    mode: Mode = "memory"


Scope = tuple[str, str, str]  # provider, topic, prompt_id


def scopes_of(answer: AnswerReading) -> tuple[Scope, ...]:
    return ((answer.provider, answer.topic, answer.prompt_id), (answer.provider, ALL, ALL),
            (ALL, answer.topic, ALL), (ALL, ALL, ALL))


def share_of_voice(brand: str, answers: Sequence[AnswerReading]) -> Metric:
    """Σ mentions of ``brand`` ÷ Σ mentions of all tracked brands, with the delta method."""
    return ratio_delta([1.0 if a.brands[brand].mentioned else 0.0 for a in answers],
                       [float(sum(r.mentioned for r in a.brands.values())) for a in answers])


def brand_metrics(brand: str, answers: Sequence[AnswerReading]) -> dict[str, Metric]:
    readings = [a.brands[brand] for a in answers]
    return {
        "visibility": wilson(sum(r.mentioned for r in readings), len(readings)),
        "share_of_voice": share_of_voice(brand, answers),
        "position": mean_t([float(r.rank) for r in readings if r.rank is not None],
                           bounds=(1.0, math.inf)),
        "sentiment": mean_t([r.sentiment for r in readings
                             if r.mentioned and r.sentiment is not None], bounds=(-1.0, 1.0)),
    }


def _change(name: str, now: Metric, before: Metric) -> MetricChange | None:
    if now.value is None or before.value is None:
        return None
    if name == "visibility":
        if not now.n or not before.n:
            return None
        test = two_proportion_z(round(before.value * before.n), before.n,
                                round(now.value * now.n), now.n)
        return MetricChange(metric=name, previous=before.value, current=now.value,
                            difference=test.difference, p_value=test.p_value,
                            test="two-proportion-z", significant=test.significant)
    if name == "share_of_voice":
        # ``sd`` holds the delta method's standard error of the ratio.
        if now.sd is None or before.sd is None:
            return None
        difference = now.value - before.value
        se = math.hypot(now.sd, before.sd)
        p_value = normal_p(difference, se)
        return MetricChange(metric=name, previous=before.value, current=now.value,
                            difference=difference, p_value=p_value, test="delta-z",
                            significant=p_value < ALPHA)
    if now.n < 2 or before.n < 2 or now.sd is None or before.sd is None:
        return None
    t = welch_t(before.n, before.value, before.sd, now.n, now.value, now.sd)
    return MetricChange(metric=name, previous=before.value, current=now.value,
                        difference=t.difference, p_value=t.p_value, test="welch-t",
                        significant=t.significant)


def _grouped(answers: Iterable[AnswerReading]) -> dict[Scope, list[AnswerReading]]:
    grouped: dict[Scope, list[AnswerReading]] = {}
    for answer in answers:
        for scope in scopes_of(answer):
            grouped.setdefault(scope, []).append(answer)
    return grouped


def _versions(answers: Iterable[AnswerReading]) -> dict[str, set[int]]:
    versions: dict[str, set[int]] = {}
    for answer in answers:
        versions.setdefault(answer.prompt_id, set()).add(answer.prompt_version)
    return versions


def score_project_run(run: ProjectRunReadings, previous: ProjectRunReadings | None, *,
                      computed_at: datetime) -> list[VisibilityScore]:
    """Every brand in every scope of ``run``, each with its changes since ``previous``."""
    grouped = _grouped(run.answers)
    before = _grouped(previous.answers) if previous else {}
    same_prompt = {prompt for prompt, versions in _versions(run.answers).items()
                   if previous and _versions(previous.answers).get(prompt) == versions}
    scores = []
    for (provider, topic, prompt_id), answers in sorted(grouped.items()):
        earlier = before.get((provider, topic, prompt_id))
        if prompt_id != ALL and prompt_id not in same_prompt:
            earlier = None
        for brand in run.brands:
            metrics = brand_metrics(brand, answers)
            changes: list[MetricChange] = []
            if earlier and previous and brand in previous.brands:
                then = brand_metrics(brand, earlier)
                changes = [c for name in METRICS
                           if (c := _change(name, metrics[name], then[name])) is not None]
            ranks = Counter(r.rank for a in answers
                            if (r := a.brands[brand]).rank is not None)
            scores.append(VisibilityScore(
                run_id=run.run_id, project=run.project, brand=brand, own=brand == run.own,
                mode=run.mode, provider=provider, topic=topic, prompt_id=prompt_id,
                extractor_version=run.extractor_version, metrics_version=METRICS_VERSION,
                run_created_at=run.run_created_at, samples=len(answers),
                rank_distribution={str(rank): count for rank, count in sorted(ranks.items())},
                previous_run_id=previous.run_id if previous and earlier else None,
                changes=tuple(changes), computed_at=computed_at, **metrics,
            ))
    return scores


def half_width(metric: Metric) -> float:
    """Half the 95 % interval; 0.5 (nothing known) without one."""
    if metric.low is None or metric.high is None:
        return 0.5
    return (metric.high - metric.low) / 2


def next_round(run: ProjectRunReadings,
               planned: Mapping[tuple[str, str], int]) -> tuple[CellSamples, ...]:
    """Adaptive sampling: the cells (provider, prompt) whose widest visibility interval among
    the tracked brands is still wider than the target, each with one more round of samples (up
    to the maximum). ``planned``: the calls planned so far per cell, answered or not, so a cell
    whose calls keep failing still stops at the maximum."""
    precision = run.precision
    if precision is None:
        return ()
    cells: dict[tuple[str, str], list[AnswerReading]] = {cell: [] for cell in planned}
    for answer in run.answers:
        if (answer.provider, answer.prompt_id) in cells:
            cells[answer.provider, answer.prompt_id].append(answer)
    rounds = []
    for (provider, prompt_id), answers in sorted(cells.items()):
        asked = planned[provider, prompt_id]
        if asked >= precision.max_samples:
            continue
        widest = max(half_width(wilson(sum(a.brands[b].mentioned for a in answers),
                                       len(answers))) for b in run.brands)
        if widest > precision.visibility_half_width:
            rounds.append(CellSamples(
                provider=provider, prompt_id=prompt_id,
                samples=min(precision.max_samples, asked + precision.round_samples)))
    return tuple(rounds)
