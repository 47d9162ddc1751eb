"""Replaying ``responses.raw`` into fresh embedding and scoring groups (from the time the scenario
began, as an operator replays) reproduces the scores: every number is a function of the stored
answers, not of arrival order or timing."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import asyncpg
import pytest

from consumers import embedding, scoring
from contracts import RESPONSES_EMBEDDED, RESPONSES_RAW, RESPONSES_VALIDATED
from streams.ops.replay import execute_reset, plan_reset
from streams.runtime.resources import open_resources
from tests.support.kafka import wait_until
from tests.truth.scenario import DOMAINS, Scenario, caught_up

pytestmark = pytest.mark.stack

COLUMNS = """run_id, domain, provider, scoring_version, run_created_at, samples, responses,
             model_versions, versions::text, metrics::text, previous_run_id, changes::text"""




def _same(a: Any, b: Any, where: str) -> None:
    """Equal, floats to 1e-9 (a re-embedded text may differ in the last float bits)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), where
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def _decoded(row: asyncpg.Record) -> dict[str, Any]:
    return {key: json.loads(value) if key in ("versions", "metrics", "changes") else value
            for key, value in row.items()}


async def test_replay_into_fresh_groups_gives_the_same_scores(world: Scenario) -> None:
    runs = list(world.runs)
    connection = await asyncpg.connect(world.dsn)
    try:
        query = f"SELECT {COLUMNS} FROM brand_scores WHERE run_id = ANY($1::uuid[])"
        before = {(r["run_id"], r["domain"], r["provider"]): _decoded(r)
                  for r in await connection.fetch(query, runs)}
        assert len(before) == 3 * len(DOMAINS) * (len(world.settings.providers) + 1)
        async with connection.transaction():
            await connection.execute(
                "DELETE FROM brand_scores WHERE run_id = ANY($1::uuid[])", runs)
            await connection.execute("DELETE FROM embeddings WHERE run_id = ANY($1::uuid[])", runs)

        suffix = uuid.uuid4().hex[:8]
        groups = {"embedding": f"embedding-replay-{suffix}",
                  "scoring": f"scoring-replay-{suffix}"}
        bootstrap = world.settings.kafka.bootstrap
        for group, topics in ((groups["embedding"], [RESPONSES_RAW.name]),
                              (groups["scoring"], [RESPONSES_VALIDATED.name,
                                                   RESPONSES_EMBEDDED.name])):
            for topic in topics:
                moves = await plan_reset(bootstrap, group, topic, to_datetime=world.started_at)
                await execute_reset(bootstrap, group, moves, live_processes=0,
                                    trust_broker_membership=False)
        async with open_resources(world.settings) as resources:
            embedding.register(resources, group=groups["embedding"])
            scoring.register(resources, group=groups["scoring"])
            await resources.broker.start()
            try:
                async def rescored() -> bool:
                    count = await connection.fetchval(
                        "SELECT count(*) FROM brand_scores WHERE run_id = ANY($1::uuid[])", runs)
                    return bool(count == len(before))

                await wait_until(rescored, timeout_s=300, what="the replayed scores",
                                 every_s=0.5)
                await caught_up(bootstrap, groups["embedding"], [RESPONSES_RAW.name],
                                timeout_s=120)
                await caught_up(bootstrap, groups["scoring"],
                                [RESPONSES_VALIDATED.name, RESPONSES_EMBEDDED.name],
                                timeout_s=120)
            finally:
                await resources.broker.stop()
        after = {(r["run_id"], r["domain"], r["provider"]): _decoded(r)
                 for r in await connection.fetch(query, runs)}
    finally:
        await connection.close()
    assert after.keys() == before.keys()
    for key, row in before.items():
        _same(row, after[key], str(key))
    print(f"replayed {len(after)} scores: identical")
