"""Drift: an unchanged model and brand drift only by the noise of a fresh draw, the same from one
run to the next; after a news effect, and for every brand of a provider whose model version
switched, drift rises clearly above that floor."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from scipy.stats import ttest_ind_from_stats

from contracts import ALL_PROVIDERS
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




async def _drift(world: Scenario, run: int) -> dict[tuple[str, str], dict[str, Any]]:
    connection = await asyncpg.connect(world.dsn)
    try:
        rows = await connection.fetch(
            "SELECT domain, provider, metrics::text FROM brand_scores WHERE run_id = $1",
            world.runs[run])
    finally:
        await connection.close()
    return {(r["domain"], r["provider"]): json.loads(r["metrics"])["drift"] for r in rows}


def _moved(domain: str, provider: str) -> bool:
    return domain == NEWS_BRAND or provider == SWITCHED


def _differs(after: dict[str, Any], before: dict[str, Any]) -> bool:
    """Welch's t-test (scipy's, not the product's) on two cells' drift summaries, at α."""
    test = ttest_ind_from_stats(after["value"], after["sd"], after["n"],
                                before["value"], before["sd"], before["n"], equal_var=False)
    return bool(test.pvalue < ALPHA)


async def test_unchanged_model_and_brand_do_not_drift(world: Scenario) -> None:
    """Run B is a fresh draw from run A's truth, so its answers drift a little (a copy would give
    exactly 0); where nothing changed before run C, C drifts as much as B did, up to α."""
    second = await _drift(world, 1)
    third = await _drift(world, 2)
    for cell, drift in second.items():
        assert drift["n"] == (SAMPLES * len(world.settings.providers)
                              if cell[1] == ALL_PROVIDERS else SAMPLES)
        assert drift["value"] > 0, cell
    steady = [cell for cell in second if cell[1] != ALL_PROVIDERS and not _moved(*cell)]
    flagged = [cell for cell in steady if _differs(third[cell], second[cell])]
    floor = [second[cell]["value"] for cell in steady]
    print(f"drift where nothing changed: {min(floor):.3f}–{max(floor):.3f}; run C differs from "
          f"run B in {len(flagged)} of {len(steady)} cells (bound {false_flag_bound(len(steady))})")
    assert len(flagged) <= false_flag_bound(len(steady)), flagged


async def test_news_effect_and_version_switch_drift(world: Scenario) -> None:
    """After the version switch every brand of the switched provider drifts more than it did
    between runs A and B (ten samples a cell give each test less than full power, so in most
    brands). The news effect is a knowledge drop: answers flip between describing and declining,
    as they do by chance between any two fresh draws, so drift need not rise there (mention rate
    and sentiment carry that change, see test_correlation); it must not fall."""
    after = await _drift(world, 2)
    before = await _drift(world, 1)
    rose: dict[str, list[bool]] = {"news": [], "switch": []}
    for (domain, provider), drift in after.items():
        if provider == ALL_PROVIDERS or not _moved(domain, provider):
            continue
        earlier = before[(domain, provider)]
        assert not (_differs(drift, earlier) and drift["value"] < earlier["value"]), (
            domain, provider, drift, earlier)
        rose["switch" if provider == SWITCHED else "news"].append(
            _differs(drift, earlier) and drift["value"] > earlier["value"])
    news = [after[(NEWS_BRAND, p)]["value"] for p in world.settings.providers if p != SWITCHED]
    switched = [after[(d, SWITCHED)]["value"] for d in DOMAINS]
    print(f"run C drift: news brand {min(news):.3f}–{max(news):.3f} (rose significantly for "
          f"{sum(rose['news'])}/{len(rose['news'])} providers), {SWITCHED} "
          f"{min(switched):.3f}–{max(switched):.3f} ({sum(rose['switch'])}/"
          f"{len(rose['switch'])} brands)")
    assert sum(rose["switch"]) > len(rose["switch"]) / 2


async def test_each_answer_records_its_drift_and_embedder(world: Scenario) -> None:
    connection = await asyncpg.connect(world.dsn)
    try:
        rows = await connection.fetch(
            """SELECT e.run_id, e.drift, e.previous_run_id, e.dimensions, e.embedder_version
               FROM embeddings e WHERE e.run_id = ANY($1::uuid[])""", list(world.runs))
        answered = await connection.fetchval(
            "SELECT count(*) FROM responses WHERE run_id = ANY($1::uuid[]) AND status = 'ok'",
            list(world.runs))
    finally:
        await connection.close()
    assert len(rows) == answered
    run_a, run_b, _ = world.runs
    assert {r["dimensions"] for r in rows} == {384}
    assert all(r["embedder_version"].startswith("local:") for r in rows)
    second = [r for r in rows if r["run_id"] == run_b]
    assert all(r["previous_run_id"] == run_a and 0 <= r["drift"] <= 2 for r in second)
    assert sum(r["drift"] > 0 for r in second) > len(second) / 2  # fresh draws, not copies
