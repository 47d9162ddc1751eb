"""Claims: which process may pay a provider for a call.

A process claims a batch's calls under one token in one statement, renews them in one statement
while they are under way, and confirms a claim before paying. A claim can only be lost to another
process once its lease has lapsed (the other's claim checks ``claimed_at`` against the lease), so
while this process's last claim or renewal of it is younger than half the lease, by a clock read
before that statement was sent, the claim is still its own without asking PostgreSQL; an older
one is confirmed in PostgreSQL. A lapse costs a delay, never a second payment."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg

logger = logging.getLogger(__name__)

_CLAIM = """
UPDATE calls SET claims = claims + 1, claimed_at = now(), claim_token = $3
WHERE call_id = ANY($1::uuid[]) AND status = 'pending'
  AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => $2))
RETURNING call_id, attempts"""

_RENEW = """
UPDATE calls SET claimed_at = now()
WHERE call_id = ANY($1::uuid[]) AND status = 'pending' AND claim_token = $2
RETURNING call_id"""


async def reopen_dead_lettered(pool: asyncpg.Pool, call_ids: Collection[UUID]) -> None:
    """Redriven requests may take their dead-lettered calls again: with a fresh retry budget,
    and their runs back to running until the calls are answered."""
    if not call_ids:
        return
    async with pool.acquire() as connection, connection.transaction():
        runs = await connection.fetch(
            """UPDATE calls SET status = 'pending', attempts = 0, claimed_at = NULL
               WHERE call_id = ANY($1::uuid[]) AND status = 'dead_letter' RETURNING run_id""",
            list(call_ids))
        for run_id, reopened in Counter(row["run_id"] for row in runs).items():
            await connection.execute(
                """UPDATE runs SET dead_lettered_calls = dead_lettered_calls - $2,
                                   status = 'running', finished_at = NULL, stop_reason = NULL
                   WHERE run_id = $1""", run_id, reopened)


class Claims:
    """This process's claims on one batch of calls, under one token."""

    def __init__(self, pool: asyncpg.Pool, token: UUID, *, lease_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._pool = pool
        self.token = token
        self._lease_s = lease_s
        self._clock = clock
        # Per held call: the clock before the statement that last claimed or renewed it.
        self._fresh_at: dict[UUID, float] = {}
        self.attempts: dict[UUID, int] = {}

    @classmethod
    async def take(cls, pool: asyncpg.Pool, call_ids: Sequence[UUID], token: UUID, *,
                   lease_s: float, clock: Callable[[], float] = time.monotonic) -> Claims:
        """Claim every pending call of ``call_ids`` nobody holds within the lease; ``attempts``
        then holds the attempts already made of each call now this process's to make."""
        claims = cls(pool, token, lease_s=lease_s, clock=clock)
        sent_at = clock()
        rows = await pool.fetch(_CLAIM, list(dict.fromkeys(call_ids)), lease_s, token)
        for row in rows:
            claims.attempts[row["call_id"]] = int(row["attempts"])
            claims._fresh_at[row["call_id"]] = sent_at
        return claims

    def release(self, call_id: UUID) -> None:
        """The call is settled or given up: no more renewals for it."""
        self._fresh_at.pop(call_id, None)

    async def still_ours(self, call_id: UUID) -> bool:
        """Asked right before paying: False when the claim lapsed and may be another's."""
        fresh_at = self._fresh_at.get(call_id)
        if fresh_at is None:
            return False
        if self._clock() - fresh_at < self._lease_s / 2:
            return True
        return call_id in await self.renew([call_id])

    async def renew(self, call_ids: Collection[UUID] | None = None) -> set[UUID]:
        """Renew the claims (all held ones by default); returns those still held. One that is
        not is dropped: it lapsed and another took the call, or the call is settled."""
        wanted = list(self._fresh_at if call_ids is None else call_ids)
        if not wanted:
            return set()
        sent_at = self._clock()
        held = {row["call_id"] for row in await self._pool.fetch(_RENEW, wanted, self.token)}
        for call_id in wanted:
            if call_id in held and call_id in self._fresh_at:
                self._fresh_at[call_id] = sent_at
            else:
                self._fresh_at.pop(call_id, None)
        return held

    @asynccontextmanager
    async def kept(self) -> AsyncIterator[None]:
        """Renew the held claims while the calls are under way: a wait for the provider's rate
        limit can outlast the lease, and no other process (nor the reconciler) may take the
        calls meanwhile. A renewal that fails is tried again at the next beat."""

        async def renew_forever() -> None:
            while True:
                await asyncio.sleep(self._lease_s / 3)
                try:
                    await self.renew()
                except Exception as exc:
                    logger.warning("claims of %d calls not renewed (%s: %s)",
                                   len(self._fresh_at), type(exc).__name__, exc)

        task = asyncio.create_task(renew_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
