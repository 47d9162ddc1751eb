"""The shared limiter on a real redis-server: admission under concurrent callers from several
processes, refund and clamp, and a 429's back-off shared across processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from streams.config import Settings
from streams.limiter import KeyLimits, RedisLimiter, Settlement
from streams.providers import RateLimitInfo
from streams.runtime.redis import create_redis
from tests.support.limiter import fresh_keys, key_spec, run_worker, run_workers

pytestmark = pytest.mark.stack


@pytest.fixture
async def redis(stack_env: dict[str, str]) -> AsyncIterator[Redis]:
    client = create_redis(Settings(), timeout_s=5)
    yield client
    await client.aclose()


def conforms(times_s: list[float], *, rate_per_s: float, capacity: float) -> bool:
    """Would a provider's token bucket (full at the start) accept every request at these
    times? The microsecond rounding of the schedule is the only slack allowed."""
    level, previous = capacity, None
    for t in sorted(times_s):
        if previous is not None:
            level = min(capacity, level + (t - previous) * rate_per_s)
        if level < 1 - 1e-5:
            return False
        level -= 1
        previous = t
    return True


async def test_admission_is_exact_under_callers_in_four_processes(stack_env: dict[str, str]
                                                                  ) -> None:
    keys = fresh_keys("openai", 2, KeyLimits(rpm=1200, tpm=0, burst=3, token_burst=1))
    spec = {"mode": "reserve", "provider": "openai", "keys": key_spec(keys), "count": 60}
    results = await run_workers([spec] * 4)
    reservations = [r for result, _ in results for r in result["reservations"]]
    assert len(reservations) == 240
    per_key: dict[int, list[float]] = {1: [], 2: []}
    for r in reservations:
        per_key[r["key"]].append(r["t_allow_us"] / 1e6)
    # The key that can send soonest: the two keys share the load evenly.
    assert abs(len(per_key[1]) - len(per_key[2])) <= 2
    for times in per_key.values():
        # Never more than the provider's bucket allows, from four processes at once...
        assert conforms(times, rate_per_s=20, capacity=3)
        # ...and no less either: the schedule runs exactly at the limit (20/s after a burst
        # of 3), since every reservation was made before the schedule's end.
        span = max(times) - min(times)
        assert span == pytest.approx((len(times) - 3) / 20, abs=0.01)
    # Two reservations never share a slot of one key.
    assert len({(r["key"], r["t_allow_us"]) for r in reservations}) == 240


async def test_refund_clamp_and_header_limits(redis: Redis) -> None:
    keys = fresh_keys("openai", 1, KeyLimits(rpm=600, tpm=60_000, burst=10, token_burst=5000))
    limiter = RedisLimiter(redis, keys, max_wait_s=60)

    async def levels() -> tuple[float, float]:
        (state,) = await limiter.key_states()
        assert state.requests_level is not None and state.tokens_level is not None
        return state.requests_level, state.tokens_level

    big = await limiter.reserve("openai", 4000)
    assert big.wait_s == 0
    _, tokens = await levels()
    assert tokens == pytest.approx(1000, abs=100)
    # Refund: the call used 1000 of the 4000 tokens it reserved.
    await limiter.settle(big, Settlement(used_tokens=1000))
    _, tokens = await levels()
    assert tokens == pytest.approx(4000, abs=100)

    # Clamp: after r2 we think 8 requests remain; the provider says 3 (so fewer than 4).
    r2 = await limiter.reserve("openai", 1)
    r3 = await limiter.reserve("openai", 1)
    await limiter.settle(r2, Settlement(used_tokens=1, rate_limit=RateLimitInfo(
        limit_requests=600, remaining_requests=3)))
    requests, _ = await levels()
    assert requests == pytest.approx(3, abs=0.3)  # 7 after r3, less the shortfall of 4
    # r3 was reserved before the clamp and saw the same shortfall: not counted twice.
    await limiter.settle(r3, Settlement(used_tokens=1, rate_limit=RateLimitInfo(
        limit_requests=600, remaining_requests=2)))
    requests, _ = await levels()
    assert requests == pytest.approx(3, abs=0.3)
    # A provider view that is not tighter than ours changes nothing.
    r4 = await limiter.reserve("openai", 1)
    await limiter.settle(r4, Settlement(rate_limit=RateLimitInfo(remaining_requests=9)))
    requests, _ = await levels()
    assert requests == pytest.approx(2, abs=0.3)

    # The provider's own limit is lower than configured: its headers win.
    r5 = await limiter.reserve("openai", 1)
    await limiter.settle(r5, Settlement(rate_limit=RateLimitInfo(limit_requests=60)))
    (state,) = await limiter.key_states()
    assert state.header_rpm == 60
    waits = [(await limiter.reserve("openai", 1)).wait_s for _ in range(3)]
    assert waits[2] - waits[1] == pytest.approx(1.0, abs=0.05)  # 60 rpm: one a second


async def test_a_429_holds_the_key_back_for_every_process(stack_env: dict[str, str]) -> None:
    keys = fresh_keys("anthropic", 1, KeyLimits(rpm=6000, tpm=0, burst=50, token_burst=1))
    spec = {"mode": "reserve", "provider": "anthropic", "keys": key_spec(keys)}
    # Process A is answered 429 with retry-after 10 s; process B reserves the key afterwards.
    started = time.monotonic()
    await run_worker({**spec, "count": 1, "retry_after_s": 10.0})
    result, _ = await run_worker({**spec, "count": 1})
    elapsed = time.monotonic() - started
    (reservation,) = result["reservations"]
    # B's slot is no sooner than 10 s after A's settlement (both within ``elapsed``).
    assert reservation["wait_s"] >= 10.0 - elapsed - 0.05
    assert elapsed < 9  # so B was really held back, not merely late


async def test_no_configured_key_and_all_keys_revoked(redis: Redis) -> None:
    from streams.limiter import NoUsableKey

    keys = fresh_keys("mistral", 2, KeyLimits(rpm=600, tpm=0, burst=5, token_burst=1))
    limiter = RedisLimiter(redis, keys, max_wait_s=60)
    with pytest.raises(NoUsableKey, match="no API key configured"):
        await limiter.reserve("openai", 1)
    for _ in range(2):
        reservation = await limiter.reserve("mistral", 1)
        await limiter.settle(reservation, Settlement(revoke_reason="AuthenticationFailed: 401"))
    # Another process (another limiter) learns it from Redis alone.
    other = RedisLimiter(redis, keys, max_wait_s=60)
    with pytest.raises(NoUsableKey, match="all refused"):
        await other.reserve("mistral", 1)


async def test_more_concurrent_commands_than_connections_wait_rather_than_fail(
    stack_env: dict[str, str],
) -> None:
    """A batch's calls reserve and settle at once: far more commands than the pool's connections.
    They wait for a connection; none fails as if Redis were down (redis-py's default pool raised
    MaxConnectionsError for the 101st, and the limiter fell back to its local share)."""
    from streams.runtime.redis import MAX_CONNECTIONS

    client = create_redis(Settings(), timeout_s=5)
    try:
        replies = await asyncio.gather(*(client.echo(str(i))
                                         for i in range(3 * MAX_CONNECTIONS + 101)))
        assert replies == [str(i) for i in range(3 * MAX_CONNECTIONS + 101)]
        pool = client.connection_pool
        opened = len(pool._available_connections) + len(pool._in_use_connections)
        assert opened <= MAX_CONNECTIONS
    finally:
        await client.aclose()
