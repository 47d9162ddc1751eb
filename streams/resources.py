"""The clients one process shares among its consumer groups, opened and closed in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx
from faststream.kafka import KafkaBroker

from streams.config import Settings
from streams.http import create_http_client
from streams.kafka import create_broker
from streams.postgres import create_pool


@dataclass(frozen=True)
class Resources:
    settings: Settings
    broker: KafkaBroker
    pool: asyncpg.Pool
    http: httpx.AsyncClient


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    pool = await create_pool(settings)
    http = create_http_client(timeout_s=settings.http_timeout_s)
    try:
        yield Resources(settings=settings, broker=create_broker(settings), pool=pool, http=http)
    finally:
        await http.aclose()
        await pool.close()
