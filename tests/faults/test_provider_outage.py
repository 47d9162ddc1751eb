"""A provider answering 5xx: retried with back-off from PostgreSQL (no partition waits) and
completed; beyond the retry budget dead-lettered with reasons, and redriven after recovery."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest

from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.ops.redrive import read_dead_letters, redrive
from streams.runs.report import run_report
from streams.runtime.postgres import create_pool
from tests.support.faults import run_row
from tests.support.groups import brand_entries, publish_domains, running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack

DOMAINS = 4
CALLS = DOMAINS * 8 * 3
OPENAI_CALLS = DOMAINS * 3


async def finished(dsn: str, run_id: uuid.UUID) -> bool:
    row = await run_row(dsn, run_id)
    return bool(row and row["status"] != "running")


async def test_outage_within_the_retry_budget_completes(
    migrated: Settings, simulator: Any
) -> None:
    # Back-off floors: 1 + 2 + 4 + 8 + 16 s over 6 attempts, more than the 20 s outage.
    settings = Settings(retry={"base_s": 2.0}, provider={"max_attempts": 6},
                        breaker={"reset_s": 3.0})
    dsn = settings.postgres.dsn.get_secret_value()
    run_id = uuid.uuid4()
    simulator.configure({"outage_for_s": {"openai": 20}})
    try:
        async with running_groups(["capture", "provider-calls"], settings):
            await publish_domains(settings, brand_entries(DOMAINS, offset=115), run_id)
            await wait_until(lambda: finished(dsn, run_id), timeout_s=120,
                             what="the run to finish after the outage", every_s=1)
    finally:
        simulator.configure({"outage_for_s": {"openai": 0}})
    row = await run_row(dsn, run_id)
    assert row is not None
    assert (row["status"], row["succeeded_calls"], row["dead_lettered_calls"]) == (
        "complete", CALLS, 0)
    # The outage was felt: every OpenAI call failed at least once and succeeded on a retry.
    connection = await asyncpg.connect(dsn)
    try:
        retried = await connection.fetchval(
            """SELECT count(*) FROM calls
               WHERE run_id = $1 AND provider = 'openai' AND attempts >= 1""", run_id)
    finally:
        await connection.close()
    assert retried == OPENAI_CALLS


async def test_outage_beyond_the_budget_dead_letters_then_redrive_completes(
    migrated: Settings, simulator: Any
) -> None:
    settings = Settings(retry={"base_s": 0.2}, provider={"max_attempts": 3},
                        breaker={"reset_s": 1.0})
    dsn = settings.postgres.dsn.get_secret_value()
    run_id = uuid.uuid4()
    entries = brand_entries(DOMAINS, offset=76)
    simulator.configure({"outage_for_s": {"openai": 60}})
    async with running_groups(["capture", "provider-calls"], settings):
        try:
            await publish_domains(settings, entries, run_id)
            await wait_until(lambda: finished(dsn, run_id), timeout_s=60,
                             what="the run to end degraded", every_s=1)
            row = await run_row(dsn, run_id)
            assert row is not None
            assert (row["status"], row["stop_reason"]) == ("degraded", "calls dead-lettered")
            assert (row["succeeded_calls"], row["dead_lettered_calls"]) == (
                CALLS - OPENAI_CALLS, OPENAI_CALLS)
            pool = await create_pool(settings, max_size=1)
            try:
                report = await run_report(pool, run_id)
            finally:
                await pool.close()
            assert {(cell[1], cell[4]) for cell in report.missing} == {("openai", "dead_letter")}
            assert len(report.missing) == OPENAI_CALLS
        finally:
            simulator.configure({"outage_for_s": {"openai": 0}})

        # provider.calls is keyed by call id: the run's letters are found by their value (the
        # topic also holds other tests' poison, which is not JSON).
        letters = [letter for letter in await read_dead_letters(settings.kafka.bootstrap,
                                                                "provider.calls")
                   if _run_of(letter.record.value) == str(run_id)]
        assert len(letters) == OPENAI_CALLS
        assert {letter.reason for letter in letters} <= {"TransientProviderError", "CircuitOpen"}
        assert all(letter.headers["dlt-attempts"] == "3" for letter in letters)
        assert all(letter.headers["dlt-stage"] == "provider" for letter in letters)

        broker = create_broker(settings)
        async with broker:
            await broker.connect()
            assert await redrive(broker, letters) == OPENAI_CALLS

        async def complete() -> bool:
            row = await run_row(dsn, run_id)
            return bool(row and row["status"] == "complete")

        await wait_until(complete, timeout_s=60, what="the redriven run to complete", every_s=1)
    row = await run_row(dsn, run_id)
    assert row is not None
    assert (row["succeeded_calls"], row["dead_lettered_calls"], row["stop_reason"]) == (
        CALLS, 0, None)


def _run_of(value: bytes | None) -> object:
    try:
        return json.loads(value or b"").get("run_id")
    except (ValueError, AttributeError):
        return None
