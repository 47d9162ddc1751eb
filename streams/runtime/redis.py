"""The one place Redis clients are made.

Timeouts are short and redis-py's own retries are off: the limiter decides what to do when Redis
does not answer (fall back to a local share), and a call must not hang for seconds meanwhile."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from streams.config import Settings


def create_redis(settings: Settings, *, timeout_s: float | None = None) -> Redis:
    """An asyncio client for ``DR_REDIS_URL`` that decodes replies to ``str``."""
    timeout = settings.redis.timeout_s if timeout_s is None else timeout_s
    client: Redis = Redis.from_url(
        settings.redis.url,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )
    return client
