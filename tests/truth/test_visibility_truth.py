"""Share of voice against a known truth (``visibility_scenario.py``): measured visibility, share
of voice and position fall inside their intervals around the truth in most cells, the untracked
airlines the truth injected are discovered, a changed truth is flagged and an unchanged one
mostly is not, and replaying ``responses.raw`` into a fresh group reproduces every number."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from consumers import visibility
from contracts import RESPONSES_RAW
from streams.config import Settings
from streams.ops.replay import execute_reset, plan_reset
from streams.runtime.resources import open_resources
from streams.simulator import INVENTED_BRANDS, Listed, expected_position, true_share_of_voice
from streams.visibility import EXTRACTOR_VERSION, discovered_key
from tests.support.kafka import wait_until
from tests.truth.scenario import caught_up, false_flag_bound
from tests.truth.visibility_scenario import (
    CHANGED_PROVIDER,
    OWN,
    PROVIDERS,
    SCOPES,
    TRACKED,
    VisibilityScenario,
    visibility_scenario,
)

pytestmark = pytest.mark.stack

ALL = "all"  # the scope's "every provider / topic / prompt", as documented


@pytest.fixture(scope="module")
async def world(migrated: Settings, simulator: Any) -> VisibilityScenario:
    return await visibility_scenario(migrated, simulator)


async def scores(world: VisibilityScenario, run_id: uuid.UUID) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(world.dsn)
    try:
        return list(await connection.fetch(
            "SELECT * FROM visibility_scores WHERE run_id = $1 ORDER BY brand, provider, topic, "
            "prompt_id", run_id))
    finally:
        await connection.close()


def metric(row: asyncpg.Record, name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(row["metrics"])[name]
    return value


def by_provider(rows: list[asyncpg.Record]) -> Iterator[asyncpg.Record]:
    """Rows of one provider (a cell or the provider's roll-up): the truth is per provider."""
    return (row for row in rows if row["provider"] != ALL)


def truth_of(listed: tuple[Listed, ...], domain: str) -> Listed:
    return next(entry for entry in listed if entry.domain == domain)


def inside(measured: dict[str, Any], truth: float) -> bool:
    return bool(measured["low"] is not None and measured["low"] - 1e-9 <= truth
                <= measured["high"] + 1e-9)


async def test_measured_numbers_fall_inside_their_intervals_around_the_truth(
        world: VisibilityScenario) -> None:
    hits = {"visibility": [0, 0], "share_of_voice": [0, 0], "position": [0, 0]}
    for run_id in world.runs[:2]:
        rows = await scores(world, run_id)
        assert len(rows) == SCOPES * len(TRACKED)
        for row in by_provider(rows):
            listed = world.truth[row["provider"]]
            expected = {
                "visibility": truth_of(listed, row["brand"]).rate,
                "share_of_voice": true_share_of_voice(listed, TRACKED, row["brand"]),
                "position": expected_position(listed, row["brand"]),
            }
            for name, truth in expected.items():
                measured = metric(row, name)
                if measured["low"] is None:  # too few ranked answers for an interval
                    continue
                hits[name][0] += inside(measured, truth)
                hits[name][1] += 1
    print({name: f"{inside_}/{total}" for name, (inside_, total) in hits.items()})
    for name, (inside_, total) in hits.items():
        assert total >= 50, name
        # 95 % intervals: at least 90 % of the cells must hold the truth.
        assert inside_ / total >= 0.90, f"{name}: {inside_}/{total} intervals hold the truth"


async def test_the_untracked_airlines_the_truth_injected_are_discovered(
        world: VisibilityScenario) -> None:
    connection = await asyncpg.connect(world.dsn)
    try:
        found = {row["name_key"]: row["answers"] for row in await connection.fetch(
            """SELECT name_key, count(*) AS answers FROM answer_discoveries
               WHERE run_id = $1 AND extractor_version = $2 GROUP BY name_key""",
            world.runs[0], EXTRACTOR_VERSION)}
    finally:
        await connection.close()
    for invented in INVENTED_BRANDS["airlines"]:
        assert found.get(discovered_key(invented), 0) > 0, invented
    # The untracked real airlines every provider lists at least half the time.
    frequent = {entry.name for entry in world.truth[PROVIDERS[0]]
                if entry.domain and entry.domain not in TRACKED
                and all(truth_of(world.truth[p], entry.domain).rate >= 0.5 for p in PROVIDERS)}
    for name in frequent:
        assert discovered_key(name) in found, name
    # No tracked airline is reported as discovered.
    tracked_keys = {discovered_key(name) for name in ("Lufthansa", "Air France",
                                                      "British Airways", "KLM", "Emirates")}
    assert not tracked_keys & found.keys()


async def test_a_changed_truth_is_flagged_and_an_unchanged_one_mostly_is_not(
        world: VisibilityScenario) -> None:
    run_a, run_b, run_c = world.runs
    unchanged = await scores(world, run_b)
    tests = flagged = 0
    for row in unchanged:
        assert row["previous_run_id"] == run_a
        for change in json.loads(row["changes"]):
            tests += 1
            flagged += change["significant"]
    print(f"false flags, nothing changed: {flagged}/{tests}")
    assert tests >= SCOPES * len(TRACKED) * 3
    assert flagged <= false_flag_bound(tests)

    changed = await scores(world, run_c)
    own = [row for row in changed if row["brand"] == OWN and row["provider"] == CHANGED_PROVIDER]
    assert len(own) == 3  # two cells and the roll-up
    for row in own:
        change = next(c for c in json.loads(row["changes"]) if c["metric"] == "visibility")
        assert change["significant"], (row["prompt_id"], change)
        assert math.copysign(1, change["difference"]) == math.copysign(
            1, world.changed_rate - truth_of(world.truth[CHANGED_PROVIDER], OWN).rate)


async def test_replay_into_a_fresh_group_gives_the_same_numbers(
        world: VisibilityScenario) -> None:
    runs = list(world.runs)
    columns = ("run_id, brand, provider, topic, prompt_id, own, samples, metrics::text, "
               "rank_distribution::text, previous_run_id, changes::text")
    query = f"SELECT {columns} FROM visibility_scores WHERE run_id = ANY($1::uuid[])"
    connection = await asyncpg.connect(world.dsn)
    try:
        def keyed(rows: list[asyncpg.Record]) -> dict[tuple[Any, ...], dict[str, Any]]:
            return {(r["run_id"], r["brand"], r["provider"], r["topic"], r["prompt_id"]):
                    dict(r) for r in rows}

        before = keyed(await connection.fetch(query, runs))
        assert len(before) == 3 * SCOPES * len(TRACKED)
        async with connection.transaction():
            for table in ("visibility_scores", "answer_brands", "answer_discoveries"):
                await connection.execute(f"DELETE FROM {table} WHERE run_id = ANY($1::uuid[])",
                                         runs)
        group = f"visibility-replay-{uuid.uuid4().hex[:8]}"
        bootstrap = world.settings.kafka.bootstrap
        moves = await plan_reset(bootstrap, group, RESPONSES_RAW.name,
                                 to_datetime=world.started_at)
        await execute_reset(bootstrap, group, moves, live_processes=0,
                            trust_broker_membership=False)
        async with open_resources(world.settings) as resources:
            visibility.register(resources, group=group)
            await resources.broker.start()
            try:
                async def rescored() -> bool:
                    count = await connection.fetchval(
                        "SELECT count(*) FROM visibility_scores WHERE run_id = ANY($1::uuid[])",
                        runs)
                    return bool(count == len(before))

                await wait_until(rescored, timeout_s=300, what="the replayed visibility scores",
                                 every_s=0.5)
                await caught_up(bootstrap, group, [RESPONSES_RAW.name], timeout_s=120)
            finally:
                await resources.broker.stop()
        after = keyed(await connection.fetch(query, runs))
    finally:
        await connection.close()
    assert after == before
    print(f"replayed {len(after)} visibility scores: identical")
