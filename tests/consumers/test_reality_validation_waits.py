"""reality-validation validates the stored answer: while capture has not stored it yet, the batch
is redelivered (nothing committed, nothing lost), and it is validated once capture catches up."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from contracts import RESPONSES_RAW, RawResponse
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.runs.planning import PlannedDomain, plan_calls
from streams.runs.store import record_plan, record_responses
from streams.runtime.postgres import create_pool
from streams.validation.facts import load_facts_file
from tests.support.groups import brand_entries, running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack


async def test_an_answer_not_yet_stored_is_validated_once_capture_stores_it(
        migrated: Settings) -> None:
    settings = Settings(validation_wait_s=0.3, web_presence_checks=False)
    entry = brand_entries(1, offset=54)[0]
    request = PlannedDomain(
        run_id=uuid.uuid4(), domain=entry.domain, name=entry.name, aliases=entry.aliases,
        providers=("openai",), samples=1, run_size=1, requested_at=datetime.now(UTC),
        prompt_set="default", cost_cap_usd=None)
    call = next(c for c in plan_calls(request, settings.provider_configs)
                if c.prompt_id == "describe")
    response = RawResponse(
        call_id=call.call_id, run_id=call.run_id, domain=call.domain, provider=call.provider,
        model=call.model, prompt_id=call.prompt_id, prompt_version=call.prompt_version,
        sample=call.sample, status="ok", responded_at=datetime.now(UTC),
        text=f"{entry.name} is a well-known brand, founded in 1900.")
    await load_facts_file(settings)
    pool = await create_pool(settings, max_size=2)
    try:
        await record_plan(pool, request, [call])
        async with running_groups(["reality-validation"], settings):
            broker = create_broker(settings)
            async with broker:
                await broker.connect()
                await broker.publish(response, RESPONSES_RAW.name, key=call.domain.encode())
            # Only this group runs: nobody stores the answer, so its batch keeps coming back.
            await asyncio.sleep(3.0)
            assert await pool.fetchval("SELECT count(*) FROM validations WHERE call_id = $1",
                                       call.call_id) == 0
            await record_responses(pool, [response], coverage_target=0.95)  # capture catches up

            async def validated() -> bool:
                count = await pool.fetchval(
                    "SELECT count(*) FROM validations WHERE call_id = $1 "
                    "AND published_at IS NOT NULL", call.call_id)
                return bool(count == 1)

            await wait_until(validated, timeout_s=30, what="the answer validated")
        row = await pool.fetchrow("SELECT * FROM validations WHERE call_id = $1", call.call_id)
        assert row["mentioned"] and row["facts_checked"] == 1 and row["facts_correct"] == 0
    finally:
        await pool.close()


