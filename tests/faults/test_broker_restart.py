"""The local broker restarted mid-run loses every topic, offset and group: consumers notice,
recreate the topics and rejoin, and the reconciler re-publishes the lost calls."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from streams.config import Settings
from streams.devstack import stack
from tests.support.faults import (
    answered,
    extra_paid,
    in_flight,
    kill_service,
    paid_by_identity,
    run_identities,
    run_row,
    stalled_calls,
)
from tests.support.groups import brand_entries, publish_domains, running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack

DOMAINS = 30
CALLS = DOMAINS * 8 * 3
LEASE_S = 3


async def test_run_completes_after_broker_restart(
    migrated: Settings, simulator: Any, local_stack: Path
) -> None:
    settings = Settings(reconcile={"grace_s": 3}, call_lease_s=LEASE_S, kafka={"max_batch": 20})
    dsn = settings.postgres.dsn.get_secret_value()
    simulator.configure({"latency_ms": 40})
    run_id = uuid.uuid4()
    ledger = await paid_by_identity(simulator, run_id)
    try:
        async with running_groups(["capture", "provider-calls"], settings):
            await publish_domains(settings, brand_entries(DOMAINS, offset=120), run_id)

            async def some_answered() -> bool:
                row = await run_row(dsn, run_id)
                return bool(row and row["planned_domains"] == DOMAINS
                            and CALLS // 10 <= await answered(dsn, run_id))

            await wait_until(some_answered, timeout_s=60, what="the run to be under way")
            kill_service(local_stack, "broker")
            stored_at_kill = await answered(dsn, run_id)
            # Every call whose paid answer the broker can lose: answered and not stored, or
            # claimed (being paid), at any moment until the consumers are back on the new broker.
            exposed = await in_flight(dsn, run_id)
            await asyncio.sleep(1.5)
            stack.stack_up(with_simulator=False, stack_dir=local_stack)
            stored_at_restart = await answered(dsn, run_id)

            async def resumed() -> bool:
                exposed.update(await in_flight(dsn, run_id))
                return await answered(dsn, run_id) > stored_at_restart

            await wait_until(resumed, timeout_s=120, what="answers stored after the restart")

            async def finished() -> bool:
                row = await run_row(dsn, run_id)
                return bool(row and row["status"] != "running")

            try:
                await wait_until(finished, timeout_s=150,
                                 what="the run to finish after the restart", every_s=1)
            except TimeoutError as exc:
                raise TimeoutError(f"{exc}: {await stalled_calls(dsn, run_id)}") from None
    finally:
        simulator.configure({"latency_ms": 5})
    assert stored_at_kill < CALLS, "the broker died mid-run, with calls it had not delivered"
    row = await run_row(dsn, run_id)
    assert row is not None
    assert row["status"] == "complete"
    assert await answered(dsn, run_id) == CALLS
    assert row["succeeded_calls"] == CALLS
    # Answers still on the (memory-only) broker when it died were paid and are lost with it:
    # those calls are paid again; nothing else is.
    second_paid = await extra_paid(simulator, run_id, ledger, await run_identities(dsn, run_id))
    assert 0 <= second_paid <= len(exposed), (
        f"{second_paid} second paid calls, {len(exposed)} exposed to the restart")
