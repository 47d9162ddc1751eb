"""A run with a cost cap, end to end: dispatch stops at the cap, the calls beyond it are recorded
as skipped for budget (never sent), and the run says that the budget stopped it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from producers.domain_file import DomainEntry
from producers.domains import publish_run
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.runs.planning import PlannedDomain, plan_calls
from streams.runs.report import run_report
from streams.simulator import RunningSimulator
from tests.support.faults import identity_of
from tests.support.groups import brand_entries, running_groups
from tests.support.kafka import wait_until
from tests.support.limiter import private_simulator, sim_stats

pytestmark = pytest.mark.stack

CAP_USD = 0.01


async def test_a_cost_cap_stops_dispatch_at_the_cap(
    migrated: Settings, simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with private_simulator() as sim:
        # Its own simulator, so the calls it counts are this run's alone.
        for name, url in sim.env().items():
            monkeypatch.setenv(name, url)
        await capped_run(Settings(), sim)


def identities(run_id: uuid.UUID, entries: list[DomainEntry]) -> list[str]:
    """The simulator's identity of each call of the run (other runs may use it meanwhile)."""
    settings = Settings()
    found = []
    for entry in entries:
        request = PlannedDomain(
            run_id=run_id, domain=entry.domain, name=entry.name, aliases=entry.aliases,
            providers=tuple(settings.providers), samples=1, run_size=len(entries),
            requested_at=datetime.now(UTC), prompt_set="default", cost_cap_usd=None)
        for call in plan_calls(request, settings.provider_configs):
            found.append(identity_of(call.provider, call.model, call.prompt, call.sample))
    return found


async def capped_run(settings: Settings, simulator: RunningSimulator) -> None:
    run_id = uuid.uuid4()
    entries = brand_entries(5, offset=100)  # 5 domains × 8 providers × 3 prompts = 120 calls
    pool = await asyncpg.create_pool(settings.postgres.dsn.get_secret_value(), min_size=1,
                                     max_size=2)
    assert pool is not None
    try:
        async with running_groups(["capture", "provider-calls"], settings):
            broker = create_broker(settings)
            async with broker:
                await broker.connect()
                await publish_run(broker, entries, run_id=run_id, providers=settings.providers,
                                  cost_cap_usd=CAP_USD)

            async def finished() -> bool:
                status = await pool.fetchval("SELECT status FROM runs WHERE run_id = $1", run_id)
                return status is not None and status != "running"

            await wait_until(finished, timeout_s=120, what="the capped run to finish")
        run = await pool.fetchrow("SELECT * FROM runs WHERE run_id = $1", run_id)
        spent = await pool.fetchval(
            "SELECT sum(cost_usd)::float8 FROM responses WHERE run_id = $1", run_id)
        skipped_rows = await pool.fetch(
            "SELECT error_type, cost_usd, key_fingerprint FROM responses "
            "WHERE run_id = $1 AND status = 'skipped'", run_id)
        after = await sim_stats(simulator, identities=True)
        report = await run_report(pool, run_id)
    finally:
        await pool.close()

    assert run["expected_calls"] == 120
    assert run["succeeded_calls"] > 0 and run["skipped_calls"] > 0
    assert run["succeeded_calls"] + run["failed_calls"] + run["skipped_calls"] == 120
    assert float(run["cost_cap_usd"]) == CAP_USD
    # Never more than the cap; and a call was skipped only when even with nothing else in
    # flight its most (at most $0.0021: Anthropic, 57 input and 400 output tokens) would not
    # have fitted.
    assert spent <= CAP_USD
    assert spent > CAP_USD - 0.0021
    # Skipped calls were never sent: the provider was paid exactly for the answered ones.
    paid = after["calls_by_identity"]
    assert sum(paid.get(identity, 0) for identity in identities(run_id, entries)) == (
        run["succeeded_calls"])
    assert {r["error_type"] for r in skipped_rows} == {"BudgetExhausted"}
    assert all(r["cost_usd"] == 0 and r["key_fingerprint"] is None for r in skipped_rows)
    assert run["status"] == "degraded" and run["stop_reason"] == "cost cap reached"
    assert report.skipped_calls == run["skipped_calls"]
    assert report.stop_reason == "cost cap reached"
    assert report.cost_usd == pytest.approx(spent)
    assert sum(line.skipped for line in report.providers) == run["skipped_calls"]
