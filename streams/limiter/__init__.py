"""Provider budget: token buckets (requests and tokens per minute) per provider key, shared by
every process through Redis, with key selection, 429 back-off and key revocation."""

from __future__ import annotations

from redis.asyncio import Redis

from streams.config import Settings
from streams.limiter.base import (
    KeyLimits,
    KeyState,
    Limiter,
    NoUsableKey,
    RateLimitBacklog,
    Reservation,
    Settlement,
    estimate_tokens,
    key_limits,
    provider_limits,
)
from streams.limiter.local_limiter import LocalLimiter
from streams.limiter.redis_limiter import RedisLimiter, key_hash


def create_limiter(settings: Settings, redis: Redis) -> Limiter:
    """``DR_LIMITER_KIND=redis`` (default): shared; ``local``: each process on its own."""
    keys = provider_limits(settings)
    if settings.limiter.kind == "local":
        return LocalLimiter(keys, max_wait_s=settings.limiter.max_wait_s)
    return RedisLimiter(redis, keys, max_wait_s=settings.limiter.max_wait_s)


__all__ = [
    "KeyLimits",
    "KeyState",
    "Limiter",
    "LocalLimiter",
    "NoUsableKey",
    "RateLimitBacklog",
    "RedisLimiter",
    "Reservation",
    "Settlement",
    "create_limiter",
    "estimate_tokens",
    "key_hash",
    "key_limits",
    "provider_limits",
]
