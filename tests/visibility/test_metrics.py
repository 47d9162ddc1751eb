"""Visibility metrics from readings: the scopes, the share-of-voice interval's coverage, and the
change tests, on synthetic readings drawn from a known truth."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import UTC, datetime

from contracts import ALL, CellSamples, Precision
from streams.visibility.metrics import (
    AnswerReading,
    BrandReading,
    ProjectRunReadings,
    next_round,
    score_project_run,
    share_of_voice,
)

BRANDS = ("own.com", "rival.com", "third.com")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def draw(rng: random.Random, rates: dict[str, float], *, provider: str = "openai",
         prompt: str = "best", topic: str = "general", version: int = 1) -> AnswerReading:
    brands = {}
    listed = [b for b in BRANDS if rng.random() < rates[b]]
    for brand in BRANDS:
        mentioned = brand in listed
        brands[brand] = BrandReading(mentioned, listed.index(brand) + 1 if mentioned else None,
                                     0.5 if mentioned else None)
    return AnswerReading(call_id=uuid.UUID(int=rng.getrandbits(128)), provider=provider,
                         prompt_id=prompt, prompt_version=version, topic=topic, brands=brands)


def run_of(answers: list[AnswerReading], minutes: int = 0) -> ProjectRunReadings:
    return ProjectRunReadings(run_id=uuid.uuid4(), project="p", run_created_at=NOW.replace(
        minute=minutes), own=BRANDS[0], brands=BRANDS, extractor_version="1",
        answers=tuple(answers))


def test_share_of_voice_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    rates = {"own.com": 0.6, "rival.com": 0.3, "third.com": 0.45}
    truth = rates["own.com"] / sum(rates.values())
    rng = random.Random(7)
    replicates, covered = 400, 0
    for _ in range(replicates):
        metric = share_of_voice("own.com", [draw(rng, rates) for _ in range(40)])
        assert metric.low is not None and metric.high is not None
        covered += metric.low <= truth <= metric.high
    # Binomial(400, 0.95): 0.92..0.98 holds with probability > 0.999.
    assert 0.92 <= covered / replicates <= 0.98, covered


def test_every_scope_has_every_brand() -> None:
    rng = random.Random(1)
    rates = dict.fromkeys(BRANDS, 0.5)
    answers = [draw(rng, rates, provider=p, prompt=q, topic=t)
               for p in ("openai", "mistral") for q, t in (("a", "x"), ("b", "y"))
               for _ in range(5)]
    scores = score_project_run(run_of(answers), None, computed_at=NOW)
    scopes = {(s.provider, s.topic, s.prompt_id) for s in scores}
    # 4 cells, 2 providers, 2 topics, 1 overall.
    assert len(scopes) == 9
    assert len(scores) == 9 * len(BRANDS)
    overall = [s for s in scores if (s.provider, s.topic, s.prompt_id) == (ALL, ALL, ALL)]
    assert {s.samples for s in overall} == {20}
    assert abs(sum(s.share_of_voice.value or 0 for s in overall) - 1.0) < 1e-9
    own = next(s for s in overall if s.own)
    assert own.brand == "own.com"
    ranked = sum(own.rank_distribution.values())
    assert ranked == own.position.n == round((own.visibility.value or 0) * 20)


def test_a_changed_truth_is_flagged_and_an_unchanged_one_is_not() -> None:
    rng = random.Random(3)
    before = {"own.com": 0.8, "rival.com": 0.5, "third.com": 0.5}
    after = {"own.com": 0.2, "rival.com": 0.5, "third.com": 0.5}
    first = run_of([draw(rng, before) for _ in range(60)], minutes=0)
    changed = run_of([draw(rng, after) for _ in range(60)], minutes=1)
    scores = score_project_run(changed, first, computed_at=NOW)
    own = next(s for s in scores if s.own and s.provider == ALL and s.prompt_id == ALL)
    flagged = {c.metric for c in own.changes if c.significant}
    assert {"visibility", "share_of_voice"} <= flagged
    assert own.previous_run_id == first.run_id

    same = run_of([draw(rng, before) for _ in range(60)], minutes=2)
    scores = score_project_run(same, first, computed_at=NOW)
    own = next(s for s in scores if s.own and s.provider == ALL and s.prompt_id == ALL)
    assert not [c for c in own.changes if c.metric == "visibility" and c.significant]


def test_a_new_prompt_version_is_not_compared_cell_by_cell() -> None:
    rng = random.Random(5)
    rates = dict.fromkeys(BRANDS, 0.5)
    first = run_of([draw(rng, rates, version=1) for _ in range(10)], minutes=0)
    second = run_of([draw(rng, rates, version=2) for _ in range(10)], minutes=1)
    scores = score_project_run(second, first, computed_at=NOW)
    cell = [s for s in scores if s.prompt_id == "best"]
    rolled = [s for s in scores if s.prompt_id == ALL]
    assert cell and all(not s.changes and s.previous_run_id is None for s in cell)
    assert all(s.previous_run_id == first.run_id for s in rolled)


def test_adaptive_sampling_asks_another_round_only_where_the_interval_is_too_wide() -> None:
    rng = random.Random(11)
    wide = [draw(rng, dict.fromkeys(BRANDS, 0.5), provider="openai") for _ in range(5)]
    # Every brand always or never named: 40 answers pin each interval to ± 5 points or less.
    narrow = [draw(rng, {"own.com": 1.0, "rival.com": 0.0, "third.com": 1.0},
                   provider="mistral") for _ in range(40)]
    run = run_of(wide + narrow)
    run = dataclasses.replace(run, precision=Precision(visibility_half_width=0.1,
                                                       max_samples=40, round_samples=5))
    planned = {("openai", "best"): 5, ("mistral", "best"): 40}
    assert next_round(run, planned) == (CellSamples(provider="openai", prompt_id="best",
                                                    samples=10),)
    # At the maximum, or stopped by the cost cap (nothing planned to extend): no more rounds.
    assert next_round(run, {("openai", "best"): 40, ("mistral", "best"): 40}) == ()
    assert next_round(run, {}) == ()
    # A cell whose calls all failed still gets rounds, up to the maximum.
    assert next_round(run, {**planned, ("google", "best"): 38}) == (
        CellSamples(provider="google", prompt_id="best", samples=40),
        CellSamples(provider="openai", prompt_id="best", samples=10))
