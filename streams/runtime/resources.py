"""The clients one process shares among its consumer groups, opened and closed in one place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
import httpx
from faststream.kafka import KafkaBroker
from redis.asyncio import Redis

from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.runtime.http import create_http_client
from streams.runtime.postgres import create_pool
from streams.runtime.redis import create_redis


@dataclass(frozen=True)
class Resources:
    settings: Settings
    broker: KafkaBroker
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    redis: Redis
    # Provider calls only: the same client API on aiohttp (see streams.http).
    provider_http: httpx.AsyncClient
    # Set by a consumer whose Kafka client is stuck though the broker answers (a commit that
    # never ends): the runner then restarts every Kafka client, as after a broker restart.
    kafka_stuck: asyncio.Event = field(default_factory=asyncio.Event)


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    pool = await create_pool(settings)
    http = create_http_client(timeout_s=settings.http.timeout_s)
    provider_http = create_http_client(timeout_s=settings.http.timeout_s, backend="aiohttp")
    # Connects lazily: a process whose groups never use Redis does not need it up.
    redis = create_redis(settings)
    try:
        yield Resources(settings=settings, broker=create_broker(settings), pool=pool, http=http,
                        redis=redis, provider_http=provider_http)
    finally:
        await redis.aclose()
        await provider_http.aclose()
        await http.aclose()
        await pool.close()
