"""The in-process limiter (fallback and baseline) and the retry policy, on a controlled clock."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from streams.calls.caller import retry_delay_s
from streams.limiter import KeyLimits, LocalLimiter, NoUsableKey, RateLimitBacklog, Settlement
from streams.providers import (
    AuthenticationFailed,
    PermanentProviderError,
    RateLimited,
    TransientProviderError,
)
from streams.providers.types import ProviderKey


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def keys(count: int, limits: KeyLimits) -> dict[str, list[tuple[ProviderKey, KeyLimits]]]:
    return {"openai": [(ProviderKey("openai", i, SecretStr(f"sk-local-{i}-secret")), limits)
                       for i in range(1, count + 1)]}


async def test_burst_then_the_rate_alternating_keys() -> None:
    clock = Clock()
    limiter = LocalLimiter(keys(2, KeyLimits(rpm=60, tpm=0, burst=2, token_burst=1)),
                           max_wait_s=60, clock=clock)
    waits = [await limiter.reserve("openai", 10) for _ in range(8)]
    # Two keys × a burst of 2 at once, then each key once a second.
    assert [round(r.wait_s, 6) for r in waits] == [0, 0, 0, 0, 1, 1, 2, 2]
    assert [r.key.index for r in waits[:4]] == [1, 2, 1, 2]


async def test_share_and_empty_start_for_the_fallback() -> None:
    clock = Clock()
    limiter = LocalLimiter(keys(1, KeyLimits(rpm=600, tpm=0, burst=10, token_burst=1)),
                           max_wait_s=60, share=0.25, start_full=False, clock=clock)
    waits = [round((await limiter.reserve("openai", 1)).wait_s, 6) for _ in range(3)]
    # A quarter of 10/s, from an empty bucket: one every 0.4 s.
    assert waits == [0.4, 0.8, 1.2]


async def test_tokens_refund_429_hold_and_revocation() -> None:
    clock = Clock()
    limiter = LocalLimiter(keys(1, KeyLimits(rpm=0, tpm=6000, burst=1, token_burst=1000)),
                           max_wait_s=60, clock=clock)
    first = await limiter.reserve("openai", 1000)
    assert first.wait_s == 0
    second = await limiter.reserve("openai", 1000)
    assert second.wait_s == pytest.approx(10.0)  # 1000 tokens at 100 tokens/s
    await limiter.settle(first, Settlement(used_tokens=100))  # 900 tokens come back: 9 s
    third = await limiter.reserve("openai", 100)
    assert third.wait_s == pytest.approx(2.0)
    await limiter.settle(third, Settlement(retry_after_s=30))
    assert (await limiter.reserve("openai", 1)).wait_s == pytest.approx(30.0)
    await limiter.settle(third, Settlement(revoke_reason="AuthenticationFailed: revoked"))
    with pytest.raises(NoUsableKey):
        await limiter.reserve("openai", 1)


async def test_a_wait_beyond_the_maximum_is_refused() -> None:
    limiter = LocalLimiter(keys(1, KeyLimits(rpm=60, tpm=0, burst=1, token_burst=1)),
                           max_wait_s=5, clock=Clock())
    for _ in range(6):
        await limiter.reserve("openai", 1)
    with pytest.raises(RateLimitBacklog):
        await limiter.reserve("openai", 1)


def test_retry_policy() -> None:
    rate_limited = RateLimited("slow down", provider="openai", retry_after_s=3)
    refused = AuthenticationFailed("bad key", provider="openai", status_code=401)
    outage = TransientProviderError("503", provider="openai", status_code=503)
    bad_request = PermanentProviderError("400", provider="openai", status_code=400)
    # 429 and a refused key: at once (the limiter holds the key back or rotates it out).
    assert retry_delay_s(rate_limited, 1, 4) == 0.0
    assert retry_delay_s(refused, 1, 4) == 0.0
    delay = retry_delay_s(outage, 2, 4)
    assert delay is not None and 0 < delay <= 30.0
    assert retry_delay_s(bad_request, 1, 4) is None
    assert retry_delay_s(outage, 4, 4) is None
