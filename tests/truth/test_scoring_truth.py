"""Scores against the simulator's truth: measured mention rate and accuracy per (brand, model)
fall inside their reported 95 % intervals around the true rates in at least 90 % of the
(metric, brand, model) cells."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from typing import Any

import asyncpg
import pytest
from scipy.stats import chisquare

from contracts import ALL_PROVIDERS
from streams.scoring.score import SCORING_VERSION
from streams.simulator import load_brands
from tests.truth.scenario import (
    ALPHA,
    DOMAINS,
    NEWS_BRAND,
    SAMPLES,
    SWITCHED,
    Scenario,
    false_flag_bound,
)

pytestmark = pytest.mark.stack




async def _scores(world: Scenario, run: int) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(world.dsn)
    try:
        return await connection.fetch(
            """SELECT domain, provider, samples, responses, versions::text, metrics::text,
                      model_versions
               FROM brand_scores WHERE run_id = $1 AND scoring_version = $2""",
            world.runs[run], SCORING_VERSION)
    finally:
        await connection.close()


def _inside(metric: dict[str, Any], truth: float) -> bool:
    return bool(metric["low"] <= truth <= metric["high"])


async def test_measured_rates_fall_inside_their_intervals_around_the_truth(
        world: Scenario) -> None:
    rows = [r for r in await _scores(world, 0) if r["provider"] != ALL_PROVIDERS]
    assert len(rows) == len(DOMAINS) * len(world.settings.providers)
    mention_inside = accuracy_inside = accuracy_cells = 0
    for row in rows:
        metrics = json.loads(row["metrics"])
        knowledge, fact_errors = world.truth[(row["domain"], row["provider"])]
        mention = metrics["mention_rate"]
        assert mention["n"] == SAMPLES == row["samples"]
        assert mention["method"] == "wilson"
        mention_inside += _inside(mention, knowledge)
        accuracy = metrics["accuracy"]
        if accuracy["n"]:
            accuracy_cells += 1
            accuracy_inside += _inside(accuracy, 1 - fact_errors)
    mention_share = mention_inside / len(rows)
    accuracy_share = accuracy_inside / accuracy_cells
    print(f"mention rate inside its 95 % interval: {mention_inside}/{len(rows)} "
          f"({mention_share:.1%}); accuracy: {accuracy_inside}/{accuracy_cells} "
          f"({accuracy_share:.1%})")
    assert accuracy_cells >= 0.9 * len(rows)  # only brands a model never knew have no facts
    # Cells are (metric, brand, model); at a 95 % level about 1 in 20 falls outside by chance.
    assert (mention_inside + accuracy_inside) / (len(rows) + accuracy_cells) >= 0.9
    assert min(mention_share, accuracy_share) >= 0.85


async def test_pooled_totals_show_no_bias_against_the_truth(world: Scenario) -> None:
    """Ten samples a cell cannot see a bias of a few points; a thousand can. Over every cell of
    runs A and B (same truth, fresh draws), the recognised samples and the correct facts must sit
    within 3 standard deviations of what the simulator's true rates predict: a detector or a
    checker biased by ~5 points fails here though each cell passes its interval."""
    rows = [r for run in (0, 1) for r in await _scores(world, run)
            if r["provider"] != ALL_PROVIDERS]
    totals = {"mention_rate": [0.0, 0.0, 0.0], "accuracy": [0.0, 0.0, 0.0]}  # seen, expected, var
    for row in rows:
        metrics = json.loads(row["metrics"])
        knowledge, fact_errors = world.truth[(row["domain"], row["provider"])]
        for name, rate in (("mention_rate", knowledge), ("accuracy", 1 - fact_errors)):
            metric = metrics[name]
            if metric["n"]:
                total = totals[name]
                total[0] += metric["value"] * metric["n"]
                total[1] += rate * metric["n"]
                total[2] += rate * (1 - rate) * metric["n"]
    for name, (seen, expected, variance) in totals.items():
        z = (seen - expected) / math.sqrt(variance)
        print(f"{name}: {seen:.0f} seen, {expected:.1f} expected from the truth (z = {z:+.2f})")
        assert abs(z) < 3, name


async def test_list_positions_follow_the_simulators_draw(world: Scenario) -> None:
    """The simulator lists a brand it knows at a uniformly drawn place among five, after up to
    four peers of its industry (with m < 4 peers, the places past m + 1 fall to m + 1): the
    positions found in runs A and B must fit that distribution (χ² goodness of fit), not merely
    be numbers ≥ 1."""
    connection = await asyncpg.connect(world.dsn)
    try:
        found = await connection.fetch(
            """SELECT domain, position FROM validations WHERE run_id = ANY($1::uuid[])
               AND prompt_id = 'recommend' AND position IS NOT NULL""",
            list(world.runs[:2]))
    finally:
        await connection.close()
    industry = {b.domain: b.industry for b in load_brands()}
    others = {d: min(4, Counter(industry.values())[industry[d]] - 1) for d in DOMAINS}
    observed: Counter[int] = Counter()
    expected: dict[int, float] = defaultdict(float)
    for row in found:
        m = others[row["domain"]]
        assert 1 <= row["position"] <= m + 1, dict(row)
        observed[row["position"]] += 1
        for place in range(1, m + 1):
            expected[place] += 1 / 5
        expected[m + 1] += (5 - m) / 5
    positions = sorted(expected)
    test = chisquare([observed[p] for p in positions], [expected[p] for p in positions])
    print(f"positions {dict(sorted(observed.items()))}: χ² p = {test.pvalue:.3f}")
    assert len(found) > 200 and test.pvalue > 0.001


async def test_scores_separate_brands_the_truth_separates(world: Scenario) -> None:
    """Rates set far apart in the simulator come out far apart (not a constant that happens to
    sit inside wide intervals)."""
    rows = {(r["domain"], r["provider"]): json.loads(r["metrics"])
            for r in await _scores(world, 0)}
    everyone = {d: rows[(d, ALL_PROVIDERS)]["mention_rate"] for d in DOMAINS}
    assert everyone["kia.com"]["high"] < everyone["pepsico.com"]["low"]  # 0.3 vs ~0.82
    assert everyone["kia.com"]["n"] == SAMPLES * len(world.settings.providers)
    accuracy = {d: rows[(d, ALL_PROVIDERS)]["accuracy"] for d in DOMAINS}
    assert accuracy["puma.com"]["high"] < accuracy["pepsico.com"]["low"]  # 0.7 vs ~0.9
    composite = {d: rows[(d, ALL_PROVIDERS)]["composite"]["value"] for d in DOMAINS}
    assert composite["kia.com"] < composite["pepsico.com"]


async def test_every_score_records_what_produced_it(world: Scenario) -> None:
    for row in await _scores(world, 0):
        versions = json.loads(row["versions"])
        assert versions["validator"] and versions["embedder"]
        assert versions["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
        metrics = json.loads(row["metrics"])
        assert set(metrics) == {"mention_rate", "position", "sentiment", "accuracy",
                                "consensus", "drift", "composite"}
        for name, metric in metrics.items():
            if metric["value"] is not None and metric["n"] >= 2:
                assert metric["low"] <= metric["value"] <= metric["high"], name
        assert row["model_versions"]


async def test_changes_are_flagged_only_when_significant(world: Scenario) -> None:
    """Run B is a fresh draw from run A's truth, and so is run C for every brand and provider the
    news effect and the version switch left alone: their change flags are false flags, which must
    come at about α, no more. The news brand's recognition drop after the effect is flagged."""
    connection = await asyncpg.connect(world.dsn)
    try:
        rows = await connection.fetch(
            """SELECT run_id, domain, provider, previous_run_id, changes::text
               FROM brand_scores WHERE run_id = ANY($1::uuid[]) AND provider <> $2""",
            list(world.runs[1:]), ALL_PROVIDERS)
    finally:
        await connection.close()
    run_b, run_c = world.runs[1], world.runs[2]
    flagged: dict[tuple[Any, str, str], set[str]] = {}
    unchanged: list[dict[str, Any]] = []
    for row in rows:
        assert row["previous_run_id"] == (world.runs[0] if row["run_id"] == run_b else run_b)
        changes = json.loads(row["changes"])
        assert {c["metric"] for c in changes} >= {"mention_rate", "composite"}
        flagged[(row["run_id"], row["domain"], row["provider"])] = {
            c["metric"] for c in changes if c["significant"]}
        for change in changes:
            if change["p_value"] is not None:
                assert change["significant"] == (change["p_value"] < ALPHA), change
        if row["run_id"] == run_b or (row["domain"] != NEWS_BRAND and row["provider"] != SWITCHED):
            unchanged.extend(changes)
    false_flags = sum(c["significant"] for c in unchanged)
    tested = [c["p_value"] for c in unchanged if c["p_value"] is not None]
    print(f"false flags where nothing changed: {false_flags} of {len(unchanged)} comparisons "
          f"(bound {false_flag_bound(len(unchanged))}); p = 1 in {sum(p >= 1 for p in tested)} "
          f"of {len(tested)}")
    assert false_flags <= false_flag_bound(len(unchanged))
    # A fresh draw, not a copy: identical runs give p = 1 everywhere and would pass any rule.
    assert sum(p >= 1 for p in tested) < len(tested) / 2
    steady = [p for p in world.settings.providers if p != SWITCHED]
    dropped = [p for p in steady if "mention_rate" in flagged[(run_c, NEWS_BRAND, p)]]
    assert len(dropped) > len(steady) / 2
