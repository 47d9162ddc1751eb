"""The one place PostgreSQL connections are made."""

from __future__ import annotations

import asyncpg

from streams.config import Settings


async def create_pool(settings: Settings, *, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        settings.postgres.dsn.get_secret_value(), min_size=1, max_size=max_size, timeout=10,
        command_timeout=30,
    )
    assert pool is not None
    return pool
