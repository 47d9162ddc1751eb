"""Wait out PostgreSQL being away instead of spinning: a consumer holding a batch keeps it
(uncommitted) and retries the write with back-off; the partition pauses, nothing is lost. And
wait, bounded, for another group's rows a batch needs (capture's stored answers)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TypeVar
from uuid import UUID

import asyncpg

from streams.errors import DomainRunnerError

logger = logging.getLogger(__name__)

T = TypeVar("T")
_POLL_S = 0.1


class NotStoredYet(DomainRunnerError, RuntimeError):
    """Rows a batch needs are not stored yet: the batch is redelivered and tried again."""

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


async def wait_stored(fetch: Callable[[set[UUID]], Awaitable[Mapping[UUID, T]]],
                      wanted: Collection[UUID], *, wait_s: float, what: str) -> dict[UUID, T]:
    """The rows ``fetch`` finds for ``wanted``, polled for up to ``wait_s``; raises
    :class:`NotStoredYet` for any still missing, so the batch comes back later."""
    if not wanted:
        return {}
    found = dict(await fetch(set(wanted)))
    deadline = time.monotonic() + wait_s
    while (waiting := set(wanted) - found.keys()) and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_S)
        found |= await fetch(waiting)
    if waiting:
        raise NotStoredYet(f"{len(waiting)} {what} not stored within {wait_s:g} s (e.g. call "
                           f"{min(waiting)}); redelivering")
    return found
