"""kill -9 of a capture and then of a provider-calls process in the middle of a 2,016-call run:
each fault lands mid-run with work in flight, that work is recovered after restart, every call
ends with exactly one stored answer, and every second payment is attributed to the fault that
can cost it: only calls the killed provider-calls process had in flight, none for capture."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from streams.config import Settings
from tests.support.faults import (
    answered,
    answered_calls,
    claimed_calls,
    describe_calls,
    in_flight,
    payments_by_call,
    reconciler_lines,
    run_row,
    stalled_calls,
    stored_calls,
)
from tests.support.groups import brand_entries, publish_domains
from tests.support.kafka import wait_until
from tests.support.processes import group_processes

pytestmark = pytest.mark.stack

DOMAINS = 84
CALLS = DOMAINS * 8 * 3  # 2,016
BATCH = 50
LEASE_S = 3


async def test_kill_9_mid_run_loses_and_duplicates_nothing(
    migrated: Settings, simulator: Any, tmp_path: Path
) -> None:
    dsn = migrated.postgres.dsn.get_secret_value()
    run_id = uuid.uuid4()
    simulator.configure({"latency_ms": 150})
    try:
        # 2 keys × 2 calls/s × 8 providers: the run takes about a minute, so both faults land
        # well inside it, whatever the machine's speed (each waits on observable state only).
        with group_processes(tmp_path, call_lease_s=str(LEASE_S), reconcile_grace_s="10",
                             default_rpm="120", kafka_max_batch=str(BATCH),
                             kafka_session_timeout_ms="3000",
                             kafka_heartbeat_interval_ms="500") as groups:
            groups.start("capture")
            groups.start("provider-calls")
            await publish_domains(migrated, brand_entries(DOMAINS, offset=130), run_id)

            async def at_least(count: int) -> bool:
                return await answered(dsn, run_id) >= count

            await wait_until(lambda: at_least(300), timeout_s=90, what="300 answers")

            # Killed, capture leaves answers paid and published but not stored.
            groups.kill("capture")
            stored_at_capture_kill = await answered(dsn, run_id)

            async def answers_waiting() -> bool:
                # provider-calls goes on meanwhile: answers pile up in responses.raw.
                return len(await answered_calls(dsn, run_id)) >= 50

            await wait_until(answers_waiting, timeout_s=60, what="answers waiting for capture",
                             every_s=0.1)
            waiting = await answered_calls(dsn, run_id)
            groups.start("capture")

            async def waiting_stored() -> bool:
                return await stored_calls(dsn, waiting) == len(waiting)

            await wait_until(waiting_stored, timeout_s=120,
                             what="the answers waiting at the capture restart to be stored")

            # Killed, provider-calls leaves its claimed calls unpaid or paid but unpublished. It
            # holds none between two batches (a loaded machine widens that gap), so the kill
            # waits for calls it has taken: the fault must land with work in flight.
            async def calls_taken() -> bool:
                return await claimed_calls(dsn, run_id) >= 5

            await wait_until(calls_taken, timeout_s=60, what="calls taken by provider-calls",
                             every_s=0.02)
            groups.kill("provider-calls")
            stored_at_calls_kill = await answered(dsn, run_id)
            exposed = await in_flight(dsn, run_id)
            groups.start("provider-calls")

            async def finished() -> bool:
                row = await run_row(dsn, run_id)
                return bool(row and row["status"] != "running")

            try:
                await wait_until(finished, timeout_s=180, what="the run to finish", every_s=1)
            except TimeoutError as exc:
                raise TimeoutError(f"{exc}: {await stalled_calls(dsn, run_id)}") from None
    finally:
        simulator.configure({"latency_ms": 5})

    assert 300 <= stored_at_capture_kill < CALLS, "capture was killed mid-run"
    assert stored_at_calls_kill < CALLS, "provider-calls was killed mid-run"
    assert exposed, "the killed provider-calls process had calls in flight"
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetchval(
            "SELECT count(*) FROM responses WHERE run_id = $1", run_id)
        # Per planned call (identity independent of call_id): one stored answer each.
        cells = await connection.fetchval(
            """SELECT count(DISTINCT (domain, provider, prompt_id, sample)) FROM responses
               WHERE run_id = $1""", run_id)
        not_ok = await connection.fetchval(
            "SELECT count(*) FROM calls WHERE run_id = $1 AND status <> 'ok'", run_id)
    finally:
        await connection.close()
    row = await run_row(dsn, run_id)
    assert row is not None
    assert (rows, cells, not_ok) == (CALLS, CALLS, 0), "0 lost, 0 duplicate rows"
    assert (row["status"], row["expected_calls"], row["succeeded_calls"]) == (
        "complete", CALLS, CALLS), "counters exact after redelivery"
    # Every call paid, and each second payment attributed: only calls in flight in the killed
    # provider-calls process may have been paid twice (the claim keeps every other redelivered
    # request from being paid again); storing the answers capture had not stored, and every
    # other call, paid for nothing again.
    paid = {call: len(times) for call, times in
            (await payments_by_call(dsn, run_id, simulator)).items()}
    assert len(paid) == CALLS and min(paid.values()) >= 1
    twice = {call for call, count in paid.items() if count > 1}
    capture_cost = twice & waiting
    assert not capture_cost, (f"the capture kill cost second payments:\n"
                              f"{await describe_calls(dsn, capture_cost)}\n"
                              f"{reconciler_lines(tmp_path / 'capture.log')}")
    unexplained = twice - exposed
    assert not unexplained, (f"second payments outside the calls in flight at the "
                             f"provider-calls kill:\n{await describe_calls(dsn, unexplained)}\n"
                             f"{reconciler_lines(tmp_path / 'capture.log')}")
    assert all(paid[call] == 2 for call in twice), "nothing paid three times"
