"""The local broker restarted mid-run loses every topic, offset and group: consumers notice,
recreate the topics and rejoin, and the reconciler re-publishes the lost calls."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from streams import stack
from streams.config import Settings
from tests.faults.helpers import answered, kill_service, paid_calls, run_row
from tests.groups import brand_entries, publish_domains, running_groups
from tests.kafka_helpers import wait_until

pytestmark = pytest.mark.stack

DOMAINS = 30
CALLS = DOMAINS * 8 * 3


async def test_run_completes_after_broker_restart(
    migrated: Settings, simulator: Any, local_stack: Path
) -> None:
    settings = Settings(reconcile_grace_s=3, call_lease_s=3, kafka_max_batch=20)
    dsn = settings.postgres_dsn.get_secret_value()
    simulator.configure({"latency_ms": 40})
    run_id = uuid.uuid4()
    paid_before = await paid_calls(simulator)
    try:
        async with running_groups(["capture", "provider-calls"], settings):
            await publish_domains(settings, brand_entries(DOMAINS, offset=120), run_id)

            async def some_answered() -> bool:
                row = await run_row(dsn, run_id)
                return bool(row and row["planned_domains"] == DOMAINS
                            and CALLS // 10 <= await answered(dsn, run_id))

            await wait_until(some_answered, timeout_s=60, what="the run to be under way")
            kill_service(local_stack, "broker")
            await asyncio.sleep(1.5)
            stack.stack_up(with_simulator=False, stack_dir=local_stack)

            async def finished() -> bool:
                row = await run_row(dsn, run_id)
                return bool(row and row["status"] != "running")

            await wait_until(finished, timeout_s=150, what="the run to finish after the restart",
                             every_s=1)
    finally:
        simulator.configure({"latency_ms": 5})
    row = await run_row(dsn, run_id)
    assert row is not None
    assert row["status"] == "complete"
    assert await answered(dsn, run_id) == CALLS
    assert row["succeeded_calls"] == CALLS
    # Answers still on the (memory-only) broker when it died were paid and are lost with it:
    # those calls are paid again. Everything already stored is not.
    second_paid = await paid_calls(simulator) - paid_before - CALLS
    stored_before_kill = CALLS // 10
    assert 0 <= second_paid <= CALLS - stored_before_kill
