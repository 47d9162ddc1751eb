"""The one place PostgreSQL connections are made."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from streams.config import Settings

# The pool, or a connection (bare or from the pool) when reads must share one snapshot.
Db: TypeAlias = ("asyncpg.Pool[asyncpg.Record] | asyncpg.Connection[asyncpg.Record] "
                 "| PoolConnectionProxy[asyncpg.Record]")


async def create_pool(settings: Settings, *, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        settings.postgres.dsn.get_secret_value(), min_size=1, max_size=max_size, timeout=10,
        command_timeout=30,
    )
    assert pool is not None
    return pool
