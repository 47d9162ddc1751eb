"""The one place PostgreSQL connections are made."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from streams.config import Settings

# The pool, or a connection (bare or from the pool) when reads must share one snapshot.
Db: TypeAlias = ("asyncpg.Pool[asyncpg.Record] | asyncpg.Connection[asyncpg.Record] "
                 "| PoolConnectionProxy[asyncpg.Record]")


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Pooled connections never change session state (no LISTEN, SET or advisory lock:
    migrations take their lock on a connection of their own), so the reset query asyncpg sends
    on every release by default is a round trip per statement for nothing. An open transaction
    is still rolled back by asyncpg before this is called."""


async def create_pool(settings: Settings, *, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        settings.postgres.dsn.get_secret_value(), min_size=1, max_size=max_size, timeout=10,
        command_timeout=30, reset=_keep_session,
    )
    assert pool is not None
    return pool
