"""Wait out PostgreSQL being away instead of spinning: a consumer holding a batch keeps it
(uncommitted) and retries the write with back-off; the partition pauses, nothing is lost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Errors that mean "the database is not there right now", as opposed to a bad statement.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
)


async def until_stored(
    write: Callable[[], Awaitable[T]], *, what: str, give_up_after_s: float = 120.0
) -> T:
    """Run ``write`` until it succeeds; after ``give_up_after_s`` re-raise, so the batch is
    redelivered later rather than held for ever."""
    deadline = time.monotonic() + give_up_after_s
    delay = 0.2
    while True:
        try:
            return await write()
        except UNAVAILABLE as exc:
            if time.monotonic() > deadline:
                raise
            logger.warning("%s: PostgreSQL unavailable (%s); retrying in %.1f s", what,
                           type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
