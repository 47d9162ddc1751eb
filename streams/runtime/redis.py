"""The one place Redis clients are made.

Timeouts are short and redis-py's own retries are off: the limiter decides what to do when Redis
does not answer (fall back to a local share), and a call must not hang for seconds meanwhile."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from streams.config import Settings

# Commands beyond this many at once wait for a connection (up to the timeout) instead of failing:
# redis-py's default pool refuses the 101st concurrent command outright (MaxConnectionsError),
# which the limiter would take for Redis being down.
MAX_CONNECTIONS = 64


def create_redis(settings: Settings, *, timeout_s: float | None = None) -> Redis:
    """An asyncio client for ``DR_REDIS_URL`` that decodes replies to ``str``."""
    timeout = settings.redis.timeout_s if timeout_s is None else timeout_s
    retry = Retry(NoBackoff(), 0)
    pool = BlockingConnectionPool.from_url(
        settings.redis.url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=retry,
        health_check_interval=0,
    )
    client = Redis(connection_pool=pool, retry=retry)
    client.auto_close_connection_pool = True  # the pool is this client's alone (as from_pool)
    return client
