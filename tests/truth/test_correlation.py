"""News correlation: an event followed by a real change is significant, an event with no change
is "no effect" (a record, not silence), and a model version switch is named as such rather than
as brand movement."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from contracts import ALL_PROVIDERS, CORRELATIONS_FOUND, CorrelationFound
from streams.correlation.evaluate import CORRELATION_VERSION, METRICS
from streams.kafka.topic_reader import read_records
from tests.truth.scenario import (
    ALPHA,
    NEWS_BRAND,
    SWITCHED,
    Scenario,
    false_flag_bound,
)

pytestmark = pytest.mark.stack




async def _verdicts(world: Scenario, event_id: Any) -> dict[tuple[str, str], asyncpg.Record]:
    connection = await asyncpg.connect(world.dsn)
    try:
        rows = await connection.fetch(
            """SELECT provider, metric, verdict, effect, p_value, before_window::text,
                      after_window::text, reason
               FROM correlations WHERE event_id = $1 AND correlation_version = $2""",
            event_id, CORRELATION_VERSION)
    finally:
        await connection.close()
    return {(r["provider"], r["metric"]): r for r in rows}


def _windows(row: asyncpg.Record) -> tuple[dict[str, Any], dict[str, Any]]:
    return json.loads(row["before_window"]), json.loads(row["after_window"])


async def test_every_provider_and_metric_gets_a_verdict(world: Scenario) -> None:
    for event in (world.news_event, *world.quiet_events.values()):
        verdicts = await _verdicts(world, event)
        assert set(verdicts) == {(p, m) for p in world.settings.providers for m in METRICS}
        for row in verdicts.values():
            before, after = _windows(row)
            assert before["runs"] == 2 and after["runs"] == 1  # runs A, B | run C


async def test_news_followed_by_a_change_is_significant(world: Scenario) -> None:
    verdicts = await _verdicts(world, world.news_event)
    steady = [p for p in world.settings.providers if p != SWITCHED]
    drift_effects = [p for p in steady if verdicts[(p, "drift")]["verdict"] == "effect"
                     and verdicts[(p, "drift")]["effect"] > 0]
    # The scandal is a knowledge drop, carried by mention rate and sentiment; drift may or may
    # not show it (test_drift), but may not fall significantly.
    assert not any(verdicts[(p, "drift")]["verdict"] == "effect"
                   and verdicts[(p, "drift")]["effect"] < 0 for p in steady)
    mention_effects = [p for p in steady
                       if verdicts[(p, "mention_rate")]["verdict"] == "effect"
                       and verdicts[(p, "mention_rate")]["effect"] < 0]
    sentiment_effects = [p for p in steady
                         if verdicts[(p, "sentiment")]["verdict"] == "effect"
                         and verdicts[(p, "sentiment")]["effect"] < 0]
    print(f"news brand: drift effect for {len(drift_effects)}/{len(steady)} providers, "
          f"mention-rate drop for {len(mention_effects)}, sentiment drop for "
          f"{len(sentiment_effects)}")
    assert len(mention_effects) > len(steady) / 2
    assert len(sentiment_effects) > len(steady) / 2


async def test_news_without_a_change_is_no_effect(world: Scenario) -> None:
    """Nine brands got news that changed nothing: each (brand, steady provider, metric) gets a
    verdict, and "effect" only as often as chance at α allows."""
    tested: list[asyncpg.Record] = []
    for domain, event in world.quiet_events.items():
        for (provider, metric), row in (await _verdicts(world, event)).items():
            if provider == SWITCHED:
                continue
            assert row["verdict"] in ("effect", "no_effect", "insufficient_data"), (domain, metric)
            if metric in ("mention_rate", "drift"):
                assert row["verdict"] != "insufficient_data", (domain, provider, metric)
            if row["verdict"] != "insufficient_data":
                assert (row["verdict"] == "effect") == (row["p_value"] < ALPHA), dict(row)
                tested.append(row)
    effects = [r for r in tested if r["verdict"] == "effect"]
    print(f"quiet news: {len(effects)} effects in {len(tested)} tests "
          f"(bound {false_flag_bound(len(tested))})")
    assert len(effects) <= false_flag_bound(len(tested))
    assert sum(r["p_value"] >= 1 for r in tested) < len(tested) / 2  # fresh draws, not copies


async def test_version_switch_is_named_not_taken_for_brand_movement(world: Scenario) -> None:
    for event in (world.news_event, world.quiet_event):
        verdicts = await _verdicts(world, event)
        switched = {m: verdicts[(SWITCHED, m)] for m in METRICS}
        assert switched["drift"]["verdict"] == "model_version_change"
        assert "shifted" in switched["drift"]["reason"]
        assert all(r["verdict"] in ("model_version_change", "insufficient_data")
                   for r in switched.values())
        for provider in world.settings.providers:
            if provider != SWITCHED:
                assert all(verdicts[(provider, m)]["verdict"] != "model_version_change"
                           for m in METRICS)


async def test_verdicts_are_on_the_topic(world: Scenario) -> None:
    latest: dict[tuple[Any, str, str], CorrelationFound] = {}
    async for record in read_records(world.settings.kafka.bootstrap, [CORRELATIONS_FOUND.name]):
        found = CorrelationFound.from_json(record.value)
        if found.event_id in (world.news_event, world.quiet_event):
            latest[(found.event_id, found.provider, found.metric)] = found
    stored = await _verdicts(world, world.quiet_event)
    for (provider, metric), row in stored.items():
        assert latest[(world.quiet_event, provider, metric)].verdict == row["verdict"]
    assert ALL_PROVIDERS not in {key[1] for key in latest}
    assert NEWS_BRAND == (await _domain_of(world, world.news_event))


async def _domain_of(world: Scenario, event_id: Any) -> str:
    connection = await asyncpg.connect(world.dsn)
    try:
        domain: str = await connection.fetchval(
            "SELECT domain FROM news_events WHERE event_id = $1", event_id)
        return domain
    finally:
        await connection.close()
