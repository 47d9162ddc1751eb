"""The alerts group on the real stack: a brand score with a significant change, published on
``brand.scores``, becomes one stored alert and one ``alerts`` record; published again (a
replay), it raises nothing more."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from contracts import BRAND_SCORES, BrandScore, Metric, MetricChange
from streams.config import Settings
from streams.kafka.broker import create_broker
from tests.support.groups import running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack


async def test_a_significant_change_is_alerted_once(migrated: Settings) -> None:
    settings = Settings()
    m = Metric(value=0.5, n=30)
    change = MetricChange(metric="mention_rate", previous=0.9, current=0.5, difference=-0.4,
                          p_value=0.0001, test="two-proportion-z", significant=True)
    score = BrandScore(run_id=uuid.uuid4(), domain="alerts-group.example", provider="openai",
                       scoring_version="test", run_created_at=datetime.now(UTC), samples=30,
                       responses=90, model_versions=("gpt-sim",), versions={},
                       mention_rate=m, position=m, sentiment=m, accuracy=m, consensus=m,
                       drift=m, composite=m, previous_run_id=uuid.uuid4(), changes=(change,),
                       computed_at=datetime.now(UTC))
    pool = await asyncpg.create_pool(settings.postgres.dsn.get_secret_value(), min_size=1,
                                     max_size=2)
    assert pool is not None
    broker = create_broker(settings)
    try:
        async with broker, running_groups(["alerts"], settings):
            await broker.connect()
            for _ in range(2):  # the second time, a replay
                await broker.publish(score, BRAND_SCORES.name, key=score.domain.encode())

            async def stored() -> bool:
                return bool(await pool.fetchval(
                    "SELECT count(*) FROM alerts WHERE subject = $1", score.domain))

            await wait_until(stored, timeout_s=60, what="the alert")
        alerts = await pool.fetch("SELECT kind, metric FROM alerts WHERE subject = $1",
                                  score.domain)
    finally:
        await pool.close()
    assert [(a["kind"], a["metric"]) for a in alerts] == [("brand_score", "mention_rate")]
