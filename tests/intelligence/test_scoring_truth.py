"""Scores against the simulator's truth: measured mention rate and accuracy per (brand, model)
fall inside their reported 95 % intervals around the true rates in at least 90 % of the
(metric, brand, model) cells."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from contracts import ALL_PROVIDERS
from streams.config import Settings
from streams.scoring.score import SCORING_VERSION
from tests.intelligence.scenario import (
    DOMAINS,
    NEWS_BRAND,
    QUIET_BRAND,
    SAMPLES,
    SWITCHED,
    Scenario,
    scenario,
)

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
async def world(migrated: Settings, simulator: Any) -> Scenario:
    return await scenario(migrated, simulator)


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
    """Run B repeats run A exactly: nothing is flagged. After the news effect, the news brand's
    recognition drop is flagged; an untouched brand of an untouched provider is not."""
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
    for row in rows:
        assert row["previous_run_id"] == (world.runs[0] if row["run_id"] == run_b else run_b)
        changes = json.loads(row["changes"])
        assert {c["metric"] for c in changes} >= {"mention_rate", "composite"}
        flagged[(row["run_id"], row["domain"], row["provider"])] = {
            c["metric"] for c in changes if c["significant"]}
        for change in changes:
            if change["p_value"] is not None:
                assert change["significant"] == (change["p_value"] < 0.05)
    assert not any(metrics for (run, _, _), metrics in flagged.items() if run == run_b)
    steady = [p for p in world.settings.providers if p != SWITCHED]
    dropped = [p for p in steady if "mention_rate" in flagged[(run_c, NEWS_BRAND, p)]]
    assert len(dropped) > len(steady) / 2
    assert not any(flagged[(run_c, QUIET_BRAND, p)] for p in steady)
