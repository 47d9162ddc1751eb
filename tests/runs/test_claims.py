"""A claim belongs to its token. A claim that lapsed (a late renewal, a stalled process) and was
taken by another is known lost to its first holder, which abandons the call unsent: the call is
paid once, by the holder of the live claim. A batch's claims are taken, renewed and confirmed in
one statement each, and a claim younger than half its lease is confirmed without one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import RawResponse
from streams.calls.caller import ProviderCaller, Unsent
from streams.config import Settings
from streams.limiter import create_limiter
from streams.runs.claims import Claims
from streams.runs.planning import PlannedDomain, plan_calls
from streams.runs.store import record_plan
from streams.runtime.resources import open_resources
from tests.support.faults import identity_of, paid_by_identity
from tests.support.groups import brand_entries

pytestmark = pytest.mark.stack


async def test_a_lapsed_claim_taken_by_another_is_not_paid_twice(
    migrated: Settings, simulator: Any
) -> None:
    settings = Settings()  # after the simulator fixture: its keys and URLs
    entry = brand_entries(1, offset=57)[0]  # brands 56-60: no other test publishes them
    request = PlannedDomain(
        run_id=uuid.uuid4(), domain=entry.domain, name=entry.name, aliases=entry.aliases,
        providers=("openai",), samples=1, run_size=1, requested_at=datetime.now(UTC),
        prompt_set="default", cost_cap_usd=None)
    call = plan_calls(request, settings.provider_configs)[0]
    identity = identity_of(call.provider, call.model, call.prompt, call.sample)
    now = [0.0]  # the first holder's clock
    async with open_resources(settings) as resources:
        pool = resources.pool
        await record_plan(pool, request, [call])
        first = await Claims.take(pool, [call.call_id], uuid.uuid4(), lease_s=60,
                                  clock=lambda: now[0])
        assert first.attempts == {call.call_id: 0}
        held = await Claims.take(pool, [call.call_id], uuid.uuid4(), lease_s=60)
        assert held.attempts == {}  # held by the first
        assert await first.still_ours(call.call_id)
        # A lease of 0 treats the first claim as lapsed, as a stall past the lease would; the
        # stall also moved the first holder's clock past its lease.
        second = await Claims.take(pool, [call.call_id], uuid.uuid4(), lease_s=0)
        assert second.attempts == {call.call_id: 0}
        now[0] = 60.0
        assert not await first.still_ours(call.call_id)

        caller = ProviderCaller(settings, resources.provider_http,
                                create_limiter(settings, resources.redis))
        before = (await paid_by_identity(simulator)).get(identity, 0)
        stale = await caller.call(call, still_ours=lambda: first.still_ours(call.call_id))
        assert isinstance(stale, Unsent) and stale.status == "abandoned", stale
        assert (await paid_by_identity(simulator)).get(identity, 0) == before, "not sent"
        live = await caller.call(call, still_ours=lambda: second.still_ours(call.call_id))
        assert isinstance(live, RawResponse) and live.status == "ok", live
        assert (await paid_by_identity(simulator)).get(identity, 0) == before + 1


class _CountingPool:
    """The pool, counting the statements sent through it."""

    def __init__(self, pool: Any) -> None:
        self.pool, self.statements = pool, 0

    async def fetch(self, *args: Any) -> Any:
        self.statements += 1
        return await self.pool.fetch(*args)


async def test_a_batch_is_claimed_and_renewed_in_one_statement_each(migrated: Settings) -> None:
    settings = Settings()
    entry = brand_entries(1, offset=58)[0]
    request = PlannedDomain(
        run_id=uuid.uuid4(), domain=entry.domain, name=entry.name, aliases=entry.aliases,
        providers=("openai", "mistral"), samples=2, run_size=1,
        requested_at=datetime.now(UTC), prompt_set="default", cost_cap_usd=None)
    calls = plan_calls(request, settings.provider_configs)
    ids = [call.call_id for call in calls]
    now = [0.0]
    async with open_resources(settings) as resources:
        await record_plan(resources.pool, request, calls)
        pool = _CountingPool(resources.pool)
        claims = await Claims.take(pool, ids + ids[:2], uuid.uuid4(), lease_s=60,  # type: ignore[arg-type]
                                   clock=lambda: now[0])
        assert claims.attempts == dict.fromkeys(ids, 0) and pool.statements == 1
        # Younger than half the lease: confirmed without asking PostgreSQL.
        now[0] = 29.0
        assert all([await claims.still_ours(call_id) for call_id in ids])
        assert pool.statements == 1
        # Another process takes one call once its lease lapsed; the next renewal, one statement
        # for the batch, finds it lost.
        taken = await Claims.take(resources.pool, ids[:1], uuid.uuid4(), lease_s=0)
        assert taken.attempts == {ids[0]: 0}
        assert await claims.renew() == set(ids[1:]) and pool.statements == 2
        assert not await claims.still_ours(ids[0])
        # Past half the lease since the renewal, the claim is confirmed in PostgreSQL.
        now[0] = 60.0
        assert await claims.still_ours(ids[1]) and pool.statements == 3
        claims.release(ids[1])
        assert not await claims.still_ours(ids[1])
