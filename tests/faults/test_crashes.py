"""kill -9 of a provider-calls and of a capture process in the middle of a 2,016-call run: each
fault lands mid-run with work in flight, that work is recovered after restart, every call ends
with exactly one stored answer, and second payments stay within what each fault can cost: at
most the calls the killed provider-calls process had in flight, none for capture."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from streams.config import Settings
from tests.support.faults import (
    answered,
    extra_paid,
    in_flight,
    paid_by_identity,
    paid_twice,
    reconciler_lines,
    run_identities,
    run_row,
    stored_calls,
    unpaid_calls,
    waiting_answers,
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
    ledger = await paid_by_identity(simulator, run_id)
    try:
        # 2 keys × 2 calls/s × 8 providers: the run takes about a minute, so both faults land
        # well inside it.
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
            identities = await run_identities(dsn, run_id)
            assert len(identities) == CALLS
            groups.kill("provider-calls")
            stored_at_kill = await answered(dsn, run_id)
            exposed = await in_flight(dsn, run_id)
            extra_before_calls = await extra_paid(simulator, run_id, ledger, identities)
            groups.start("provider-calls")

            async def exposed_settled() -> bool:
                # Stored, a call can no longer be paid again: the fault's cost is final.
                return await stored_calls(dsn, exposed) == len(exposed)

            await wait_until(exposed_settled, timeout_s=120,
                             what="the calls in flight at the kill to be stored")
            assert 300 <= stored_at_kill < CALLS, "provider-calls was killed mid-run"
            assert exposed, "the killed provider-calls process had calls in flight"

            # Killed, capture leaves answers paid and published but not stored.
            groups.kill("capture")
            stored_at_kill = await answered(dsn, run_id)
            extra_before_capture = await extra_paid(simulator, run_id, ledger, identities)

            async def answers_waiting() -> bool:
                # Answers pile up while capture is down: 50 of them, or all the run had left
                # when fewer remained (the calls re-paid after the first kill queue behind the
                # whole backlog, so by now the run may be nearly paid).
                waiting = await waiting_answers(dsn, run_id)
                return waiting >= 50 or (waiting > 0 and await unpaid_calls(dsn, run_id) == 0)

            # provider-calls goes on meanwhile: answers pile up in responses.raw for capture.
            await wait_until(answers_waiting, timeout_s=60, what="answers waiting for capture")
            groups.start("capture")
            assert stored_at_kill < CALLS, "capture was killed mid-run"

            async def finished() -> bool:
                row = await run_row(dsn, run_id)
                return bool(row and row["status"] != "running")

            await wait_until(finished, timeout_s=180, what="the run to finish", every_s=1)
    finally:
        simulator.configure({"latency_ms": 5})

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
    # Only calls in flight in the killed provider-calls process may have been paid twice (the
    # claim keeps every other redelivered request from being paid again), and storing the
    # answers capture had not stored paid for nothing again.
    extra_end = await extra_paid(simulator, run_id, ledger, identities)
    assert extra_end == extra_before_capture, (
        f"the capture kill cost no second payment; paid twice:\n"
        f"{await paid_twice(dsn, run_id, simulator, ledger)}\n"
        f"capture log:\n{reconciler_lines(tmp_path / 'capture.log')}")
    second_paid = extra_end - extra_before_calls
    assert 0 <= second_paid <= len(exposed), (
        f"{second_paid} second paid calls, {len(exposed)} in flight at the kill")
    # Every call of the run paid at least once, and nothing paid twice but the above.
    now = await paid_by_identity(simulator, run_id)
    assert sum(now.get(i, 0) - ledger.get(i, 0) for i in identities) == CALLS + second_paid
