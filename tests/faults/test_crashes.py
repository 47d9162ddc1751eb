"""kill -9 of a provider-calls and of a capture process in the middle of a 2,016-call run: after
restart every call has exactly one row, nothing is lost and second paid calls stay bounded."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from streams.config import Settings
from tests.faults.helpers import answered, paid_calls, run_row
from tests.faults.processes import group_processes
from tests.groups import brand_entries, publish_domains
from tests.kafka_helpers import wait_until

pytestmark = pytest.mark.stack

DOMAINS = 84
CALLS = DOMAINS * 8 * 3  # 2,016
BATCH = 50


async def test_kill_9_mid_run_loses_and_duplicates_nothing(
    migrated: Settings, simulator: Any, tmp_path: Path
) -> None:
    dsn = migrated.postgres_dsn.get_secret_value()
    run_id = uuid.uuid4()
    simulator.configure({"latency_ms": 150})
    paid_before = await paid_calls(simulator)
    try:
        with group_processes(tmp_path, call_lease_s="3", reconcile_grace_s="15",
                             kafka_max_batch=str(BATCH), kafka_session_timeout_ms="3000",
                             kafka_heartbeat_interval_ms="500") as groups:
            groups.start("capture")
            groups.start("provider-calls")
            await publish_domains(migrated, brand_entries(DOMAINS, offset=130), run_id)

            async def at_least(count: int) -> bool:
                return await answered(dsn, run_id) >= count

            await wait_until(lambda: at_least(300), timeout_s=90, what="300 answers")
            groups.kill("provider-calls")
            groups.start("provider-calls")
            await wait_until(lambda: at_least(1000), timeout_s=90, what="1,000 answers")
            groups.kill("capture")
            groups.start("capture")

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
        distinct = await connection.fetchval(
            "SELECT count(DISTINCT call_id) FROM responses WHERE run_id = $1", run_id)
        not_ok = await connection.fetchval(
            "SELECT count(*) FROM calls WHERE run_id = $1 AND status <> 'ok'", run_id)
    finally:
        await connection.close()
    row = await run_row(dsn, run_id)
    assert row is not None
    assert (rows, distinct, not_ok) == (CALLS, CALLS, 0), "0 lost, 0 duplicate rows"
    assert (row["status"], row["expected_calls"], row["succeeded_calls"]) == (
        "complete", CALLS, CALLS), "counters exact after redelivery"
    # Only calls in flight in the killed provider-calls process (at most one batch) may have
    # been paid twice; the claim keeps every other redelivered request from being paid again.
    second_paid = await paid_calls(simulator) - paid_before - CALLS
    assert 0 <= second_paid <= BATCH, f"{second_paid} second paid calls"
