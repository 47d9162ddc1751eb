"""The walking skeleton end to end on the real stack: producer → capture → provider-calls →
simulator over HTTP → capture → PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contracts import PROVIDER_CALLS
from producers.domain_file import DomainEntry
from streams.config import Settings
from streams.kafka.topic_reader import read_records
from streams.runs.report import run_report
from tests.support.groups import brand_entries, publish_domains, running_groups
from tests.support.kafka import wait_committed, wait_until

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
async def pipeline(migrated: Settings, simulator: Any) -> AsyncIterator[Settings]:
    """capture and provider-calls running in this process (so spans reach the test exporter)."""
    settings = Settings()
    async with running_groups(["capture", "provider-calls"], settings):
        yield settings


async def publish(settings: Settings, entries: list[DomainEntry], run_id: uuid.UUID) -> list[Any]:
    return await publish_domains(settings, entries, run_id)


async def call_requests(settings: Settings, run_id: uuid.UUID) -> int:
    """Call requests of the run on provider.calls (records the topic holds now)."""
    needle = str(run_id).encode()
    found = [record async for record in read_records(settings.kafka.bootstrap,
                                                       [PROVIDER_CALLS.name])
             if record.value and needle in record.value]
    return len(found)


async def sim_stats(simulator: Any) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{simulator.url}/_sim/stats", timeout=5)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


async def test_fifty_domains_once_each_and_again_without_new_calls(
    pipeline: Settings, simulator: Any
) -> None:
    settings = pipeline
    run_id = uuid.uuid4()
    entries = brand_entries(50)
    pool = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        before = await sim_stats(simulator)
        await publish(settings, entries, run_id)

        async def finished() -> bool:
            status = await pool.fetchval("SELECT status FROM runs WHERE run_id = $1", run_id)
            return status is not None and status != "running"

        await wait_until(finished, timeout_s=180, what="the run to finish")
        rows = await pool.fetchval("SELECT count(*) FROM responses WHERE run_id = $1", run_id)
        run = await pool.fetchrow("SELECT * FROM runs WHERE run_id = $1", run_id)
        assert rows == 50 * 8 * 3 == 1200
        assert run["status"] == "complete"
        assert run["expected_calls"] == 1200
        assert run["succeeded_calls"] + run["failed_calls"] == 1200
        assert run["succeeded_calls"] == await pool.fetchval(
            "SELECT count(*) FROM responses WHERE run_id = $1 AND status = 'ok'", run_id)
        assert run["planned_domains"] == run["expected_domains"] == 50
        after_first = await sim_stats(simulator)
        paid = after_first["paid_calls"] - before["paid_calls"]
        assert paid == 1200
        assert after_first["duplicates"] == before["duplicates"]

        # Cost is tokens × the configured list price per million, by hand here, not by the
        # code that stores it.
        configs = settings.provider_configs
        rows = await pool.fetch(
            """SELECT provider, input_tokens, output_tokens, cost_usd FROM responses
               WHERE run_id = $1 AND status = 'ok'""", run_id)
        assert len(rows) == 1200 and all(row["output_tokens"] > 0 for row in rows)
        for row in rows:
            config = configs[row["provider"]]
            expected = (row["input_tokens"] * config.input_price_per_mtok
                        + row["output_tokens"] * config.output_price_per_mtok) / 1_000_000
            assert float(row["cost_usd"]) == pytest.approx(expected, rel=1e-9, abs=1e-12), row

        # The same 50 again under the same run id: nothing new is planned, called or stored.
        # Capture confirms every publish before it commits, so once it has committed past the
        # re-publish, a wrongly planned call would already be on provider.calls: no sleep.
        requests_before = await call_requests(settings, run_id)
        metadata = await publish(settings, entries, run_id)
        await wait_committed(settings.kafka.bootstrap, "capture-planning", metadata,
                             timeout_s=60)
        assert await call_requests(settings, run_id) == requests_before
        after_second = await sim_stats(simulator)
        assert after_second["paid_calls"] == after_first["paid_calls"]
        assert await pool.fetchval(
            "SELECT count(*) FROM responses WHERE run_id = $1", run_id) == 1200
        assert await pool.fetchval(
            "SELECT count(*) FROM calls WHERE run_id = $1", run_id) == 1200
        report = await run_report(pool, run_id)  # type: ignore[arg-type]
        assert sum(line.calls for line in report.providers) == 1200
        assert {line.provider for line in report.providers} == set(settings.providers)
    finally:
        await pool.close()


async def test_one_domain_is_one_trace(
    pipeline: Settings, spans: InMemorySpanExporter
) -> None:
    settings = pipeline
    run_id = uuid.uuid4()
    entry = brand_entries(1, offset=55)
    spans.clear()
    await publish(settings, entry, run_id)
    pool = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        async def finished() -> bool:
            return await pool.fetchval(
                "SELECT status <> 'running' FROM runs WHERE run_id = $1", run_id) is True

        await wait_until(finished, timeout_s=60, what="the one-domain run")
        stored_trace_ids = {
            row["trace_id"] for row in await pool.fetch(
                "SELECT trace_id FROM responses WHERE run_id = $1", run_id)
        }
    finally:
        await pool.close()
    root = [s for s in spans.get_finished_spans() if s.name == "publish domain"
            and s.attributes and s.attributes.get("domain") == entry[0].domain]
    assert len(root) == 1
    trace_id = root[0].context.trace_id

    async def persisted_spans_ended() -> bool:
        # The run is marked complete inside the last persist span, which ends just after.
        return sum(1 for s in spans.get_finished_spans() if s.context.trace_id == trace_id
                   and s.name == "capture persist") >= 24

    await wait_until(persisted_spans_ended, timeout_s=10, what="the persist spans to end")
    finished_spans = spans.get_finished_spans()
    in_trace = [s for s in finished_spans if s.context.trace_id == trace_id]
    names = {s.name for s in in_trace}
    assert {"capture plan", "provider-calls call", "capture persist"} <= names
    http_spans = [s for s in in_trace if (s.attributes and "http.request.method" in s.attributes)
                  or (s.attributes and "http.method" in s.attributes)]
    assert len(http_spans) == 24  # 8 providers × 3 prompts, each one HTTP call
    assert sum(1 for s in in_trace if s.name == "capture persist") == 24
    assert stored_trace_ids == {format(trace_id, "032x")}
