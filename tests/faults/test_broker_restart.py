"""The local broker restarted mid-run loses every topic, offset and group: consumers notice,
recreate the topics and rejoin, and the reconciler re-publishes the lost calls."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from streams.config import Settings
from streams.devstack import stack
from tests.support.faults import (
    answered,
    describe_calls,
    kill_service,
    payments_by_call,
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
            await asyncio.sleep(1.5)
            stack.stack_up(with_simulator=False, stack_dir=local_stack)
            stored_at_restart = await answered(dsn, run_id)

            async def resumed() -> bool:
                return await answered(dsn, run_id) > stored_at_restart

            await wait_until(resumed, timeout_s=120, what="answers stored after the restart")
            # From here answers go to the new broker through restarted clients: an answer paid
            # since cannot be lost with the old one.
            back_at = time.time()

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
    paid = await payments_by_call(dsn, run_id, simulator)
    assert len(paid) == CALLS and min(len(times) for times in paid.values()) >= 1
    # Only a call first paid before the consumers were back on the new broker (its answer on
    # the old one, or in a client that was restarted) may be paid again, and only once.
    unexplained = {call for call, times in paid.items()
                   if len(times) > 2 or (len(times) == 2 and times[0] >= back_at)}
    assert not unexplained, (f"second payments the restart does not explain:\n"
                             f"{await describe_calls(dsn, unexplained)}")
