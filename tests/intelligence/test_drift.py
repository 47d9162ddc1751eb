"""Drift: ~0 for an unchanged model and brand across two runs; large after a news effect, and
for every brand of a provider whose model version switched."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from contracts import ALL_PROVIDERS
from streams.config import Settings
from tests.intelligence.scenario import (
    DOMAINS,
    NEWS_BRAND,
    SAMPLES,
    SWITCHED,
    Scenario,
    scenario,
)

pytestmark = pytest.mark.stack

NEAR_ZERO = 0.01
LARGE = 0.05


@pytest.fixture(scope="module")
async def world(migrated: Settings, simulator: Any) -> Scenario:
    return await scenario(migrated, simulator)


async def _drift(world: Scenario, run: int) -> dict[tuple[str, str], dict[str, Any]]:
    connection = await asyncpg.connect(world.dsn)
    try:
        rows = await connection.fetch(
            "SELECT domain, provider, metrics::text FROM brand_scores WHERE run_id = $1",
            world.runs[run])
    finally:
        await connection.close()
    return {(r["domain"], r["provider"]): json.loads(r["metrics"])["drift"] for r in rows}


async def test_unchanged_model_and_brand_do_not_drift(world: Scenario) -> None:
    second = await _drift(world, 1)
    for cell, drift in second.items():
        assert drift["n"] == (SAMPLES * len(world.settings.providers)
                              if cell[1] == ALL_PROVIDERS else SAMPLES)
        assert drift["value"] < NEAR_ZERO, cell
    print(f"run B drift: max {max(d['value'] for d in second.values()):.2e}")


async def test_news_effect_and_version_switch_drift(world: Scenario) -> None:
    after = await _drift(world, 2)
    before = await _drift(world, 1)
    for (domain, provider), drift in after.items():
        if provider == ALL_PROVIDERS:
            continue
        moved = domain == NEWS_BRAND or provider == SWITCHED
        if moved:
            assert drift["value"] > LARGE, (domain, provider, drift)
            assert drift["low"] > before[(domain, provider)]["high"], (domain, provider, drift)
        else:
            assert drift["value"] < NEAR_ZERO, (domain, provider, drift)
    news = [after[(NEWS_BRAND, p)]["value"] for p in world.settings.providers if p != SWITCHED]
    switched = [after[(d, SWITCHED)]["value"] for d in DOMAINS]
    print(f"run C drift: news brand {min(news):.3f}–{max(news):.3f}, "
          f"{SWITCHED} {min(switched):.3f}–{max(switched):.3f}")


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
    assert all(r["previous_run_id"] == run_a and r["drift"] < NEAR_ZERO for r in second)
