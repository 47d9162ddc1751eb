"""A claim belongs to its token. A claim that lapsed (a late renewal, a stalled process) and was
taken by another is known lost to its first holder, which abandons the call unsent: the call is
paid once, by the holder of the live claim."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import RawResponse
from streams.calls.caller import ProviderCaller, Unsent
from streams.config import Settings
from streams.limiter import create_limiter
from streams.runs.planning import PlannedDomain, plan_calls
from streams.runs.store import claim_call, hold_claim, record_plan
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
    first, second = uuid.uuid4(), uuid.uuid4()
    async with open_resources(settings) as resources:
        pool = resources.pool
        await record_plan(pool, request, [call])
        assert await claim_call(pool, call.call_id, first, lease_s=60) == 0
        assert await claim_call(pool, call.call_id, second, lease_s=60) is None  # held
        assert await hold_claim(pool, call.call_id, first)
        # A lease of 0 treats the first claim as lapsed, as a stall past the lease would.
        assert await claim_call(pool, call.call_id, second, lease_s=0) == 0
        assert not await hold_claim(pool, call.call_id, first)

        caller = ProviderCaller(settings, resources.provider_http,
                                create_limiter(settings, resources.redis))
        before = (await paid_by_identity(simulator)).get(identity, 0)
        stale = await caller.call(call, still_ours=lambda: hold_claim(pool, call.call_id, first))
        assert isinstance(stale, Unsent) and stale.status == "abandoned", stale
        assert (await paid_by_identity(simulator)).get(identity, 0) == before, "not sent"
        live = await caller.call(call, still_ours=lambda: hold_claim(pool, call.call_id, second))
        assert isinstance(live, RawResponse) and live.status == "ok", live
        assert (await paid_by_identity(simulator)).get(identity, 0) == before + 1
