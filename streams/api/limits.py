"""Inbound limits per API key, shared by every API replica: one GCRA bucket per key in Redis
(the idea of the provider limiter, in one short script), with Redis TIME as the only clock.

A request takes one token: allowed when the bucket holds one, else refused with how long until
it will. The headers follow the IETF draft ``RateLimit-Limit`` / ``-Remaining`` / ``-Reset``
(seconds), plus ``Retry-After`` on a refusal."""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS[1]: the bucket; ARGV: interval_us (one token), capacity (tokens) -> {allowed, tat - now}
_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed = 0
if tat + interval - now <= capacity * interval then
  tat = tat + interval
  allowed = 1
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',
             math.ceil((tat - now) / 1000) + 1000)
end
return {allowed, string.format('%.0f', tat - now)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int        # until the bucket is full again
    retry_after_s: int  # until one more request is allowed (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                   "RateLimit-Reset": str(self.reset_s)}
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


class KeyLimiter:
    """``per_minute`` requests per key, bursts of up to ``burst``."""

    def __init__(self, redis: Redis, *, per_minute: int, burst: int) -> None:
        self._redis = redis
        self._interval_us = 60_000_000 / per_minute
        self._burst = burst
        self._script = redis.register_script(_SCRIPT)

    async def take(self, fingerprint: str) -> Decision:
        allowed, ahead = await self._script(keys=[f"dr:api:bucket:{fingerprint}"],
                                            args=[self._interval_us, self._burst])
        ahead_us = float(ahead)
        remaining = max(0, math.floor(self._burst - ahead_us / self._interval_us))
        retry = 0 if allowed else math.ceil(
            (ahead_us + self._interval_us - self._burst * self._interval_us) / 1e6)
        return Decision(allowed=bool(allowed), limit=self._burst, remaining=remaining,
                        reset_s=math.ceil(ahead_us / 1e6), retry_after_s=max(1, retry)
                        if not allowed else 0)
