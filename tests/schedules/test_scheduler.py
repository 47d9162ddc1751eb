"""The scheduler on the real stack with time injected: each slot runs once with two schedulers
ticking side by side and one of them dying between publishing and recording; a slot whose run is
already complete is skipped."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, timedelta
from typing import Any

import asyncpg
import pytest

from producers import scheduler
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.runs.prompts import CANARY_DOMAIN, canary_run_id
from streams.schedules import UnknownSchedule, add_schedule, remove_schedule, slot_run_id
from tests.support.groups import running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack

# Brands no other test asks about.
DOMAINS = [{"domain": "schedule-one.example", "name": "Schedule One"}]


async def test_each_slot_runs_once_across_replicas_and_a_crash(migrated: Settings,
                                                              simulator: Any) -> None:
    settings = Settings(providers=["openai"], web_presence_checks=False)
    pool = await asyncpg.create_pool(settings.postgres.dsn.get_secret_value(), min_size=1,
                                     max_size=4)
    assert pool is not None
    try:
        schedule = await add_schedule(pool, name="hourly-test", target_kind="domains",
                                      target=DOMAINS, cron="0 * * * *", timezone="UTC")
        slot = (schedule.created_at + timedelta(hours=1)).replace(minute=0, second=0,
                                                                  microsecond=0)
        now = slot + timedelta(seconds=1)
        run_id = slot_run_id("hourly-test", slot)
        broker = create_broker(settings)
        async with broker, running_groups(["capture", "provider-calls"], settings):
            await broker.connect()
            # A replica that dies after publishing, before recording the slot.
            real_record = scheduler.record_slot

            async def crash(*args: Any, **kwargs: Any) -> bool:
                raise ConnectionError("killed mid-slot")

            scheduler.record_slot = crash  # type: ignore[assignment]
            with pytest.raises(ConnectionError):
                await scheduler.run_due(pool, broker, settings, now=now)
            scheduler.record_slot = real_record
            # Two replicas tick at once, then again a second later.
            first = await asyncio.gather(*(scheduler.run_due(pool, broker, settings, now=now)
                                           for _ in range(2)))
            later = await scheduler.run_due(pool, broker, settings,
                                            now=now + timedelta(seconds=1))

            async def finished() -> bool:
                status = await pool.fetchval("SELECT status FROM runs WHERE run_id = $1",
                                             run_id)
                return status == "complete"

            await wait_until(finished, timeout_s=120, what="the slot's run")
        recorded = [d for decisions in first for d in decisions if d.recorded]
        assert [(d.slot, d.outcome) for d in recorded] == [(slot, "published")]
        assert later == []
        # One run, one plan: three prompts for one domain and one provider, once.
        assert await pool.fetchval("SELECT count(*) FROM calls WHERE run_id = $1", run_id) == 3
        # And its model-version canary, once too: three fixed prompts × k samples.
        canary = await pool.fetch(
            "SELECT domain, prompt_id FROM calls WHERE run_id = $1", canary_run_id(run_id))
        assert len(canary) == 3 * settings.canary_samples
        assert {c["domain"] for c in canary} == {CANARY_DOMAIN}
        assert await pool.fetchval(
            "SELECT count(*) FROM schedule_slots WHERE schedule = 'hourly-test'") == 1
    finally:
        # Left active, its later slots would be published by the next test's scheduler tick,
        # and planned by whichever test runs capture next.
        with contextlib.suppress(UnknownSchedule):
            await remove_schedule(pool, "hourly-test")
        await pool.close()


async def test_a_slot_whose_run_is_complete_is_skipped(migrated: Settings,
                                                       simulator: Any) -> None:
    settings = Settings(providers=["openai"], web_presence_checks=False)
    pool = await asyncpg.create_pool(settings.postgres.dsn.get_secret_value(), min_size=1,
                                     max_size=2)
    assert pool is not None
    try:
        schedule = await add_schedule(pool, name="daily-test", target_kind="domains",
                                      target=DOMAINS, cron="0 9 * * *", timezone="UTC")
        # The first 09:00 UTC after the schedule was made, by hand.
        slot = schedule.created_at.astimezone(UTC).replace(hour=9, minute=0, second=0,
                                                           microsecond=0)
        if slot <= schedule.created_at:
            slot += timedelta(days=1)
        run_id = slot_run_id("daily-test", slot)
        await pool.execute(
            """INSERT INTO runs (run_id, prompt_set, providers, samples, expected_domains,
                                 status) VALUES ($1, 'default', '{openai}', 1, 1, 'complete')""",
            run_id)
        broker = create_broker(settings)
        async with broker:
            await broker.connect()
            decisions = await scheduler.run_due(pool, broker, settings,
                                                now=slot + timedelta(seconds=5))
        # Other tests' schedules share the table: this one's decisions only.
        assert [(d.outcome, d.recorded) for d in decisions
                if d.schedule == "daily-test"] == [("skipped", True)]
    finally:
        with contextlib.suppress(UnknownSchedule):
            await remove_schedule(pool, "daily-test")
        await pool.close()
