"""Run cost caps: before a call is sent, the most it can cost is reserved against its run's cap
(one Redis hash per run, shared by every provider-calls process); afterwards the reservation is
replaced by the real cost. A call that would pass the cap even with nothing else in flight is
skipped, never sent, so a run never spends more than its cap; one that fits only once the calls
in flight are settled (they reserved their most and usually cost far less) waits for them.

The Redis counter starts from PostgreSQL's ``responses.cost_usd`` of the run, so a lost counter
(Redis restarted) is rebuilt from the system of record. While Redis is down, a process admits
against PostgreSQL's sum plus its own calls in flight: it cannot see the other processes' calls
in flight, which can then overshoot the cap by at most those."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from redis.asyncio import Redis

from streams.limiter.redis_limiter import UNAVAILABLE

logger = logging.getLogger(__name__)

SPEND_TTL_MS = 7 * 24 * 3600 * 1000
# While Redis is down, PostgreSQL's spend of a run is read at most this often.
PG_SPEND_TTL_S = 1.0
# A call that may fit once the calls in flight are settled asks again this often.
RECHECK_S = 0.2

# KEYS[1] the run's budget hash {spent, reserved}; ARGV: estimate, cap, ttl_ms ->
# 1 admitted; 0 over the cap even if nothing else were in flight; 2 may fit once the calls in
# flight are settled (they reserved their most, and usually cost far less); -1 no hash yet
# (seed it from PostgreSQL, then ask again).
_ADMIT = """
local f = redis.call('HMGET', KEYS[1], 'spent', 'reserved')
if not f[1] then return -1 end
local spent, reserved = tonumber(f[1]), tonumber(f[2] or '0')
local estimate, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
if spent + estimate > cap then return 0 end
if spent + reserved + estimate > cap then return 2 end
redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS[1] the run's budget hash; ARGV: reserved estimate, actual cost.
_SETTLE = """
redis.call('HINCRBYFLOAT', KEYS[1], 'reserved', -tonumber(ARGV[1]))
redis.call('HINCRBYFLOAT', KEYS[1], 'spent', ARGV[2])
return 1
"""

_RUN_SPEND = "SELECT coalesce(sum(cost_usd), 0)::float8 FROM responses WHERE run_id = $1"


def budget_key(run_id: UUID) -> str:
    return f"dr:budget:{run_id}"


@dataclass(frozen=True)
class Admission:
    """A call's reserved share of its run's budget (``reserved_usd`` 0: the run has no cap)."""

    run_id: UUID
    reserved_usd: float
    shared: bool


class RunBudget:
    def __init__(self, redis: Redis, pool: asyncpg.Pool, *, max_wait_s: float = 300.0) -> None:
        self._redis = redis
        self._admit = redis.register_script(_ADMIT)
        self._settle = redis.register_script(_SETTLE)
        self._pool = pool
        self._max_wait_s = max_wait_s
        self._caps: dict[UUID, float | None] = {}
        # Redis down: this process's reservations, and PostgreSQL's spend with its read time.
        self._in_flight: defaultdict[UUID, float] = defaultdict(float)
        self._pg_spend: dict[UUID, tuple[float, float]] = {}

    async def cap(self, run_id: UUID) -> float | None:
        """The run's cap (read once: a run's cap never changes)."""
        if run_id not in self._caps:
            value = await self._pool.fetchval(
                "SELECT cost_cap_usd::float8 FROM runs WHERE run_id = $1", run_id)
            self._caps[run_id] = value
        return self._caps[run_id]

    async def admit(self, run_id: UUID, estimate_usd: float) -> Admission | None:
        """Reserve ``estimate_usd`` of the run's budget; None when the cap is reached. A call
        that fits only once the calls in flight are settled waits for them (bounded)."""
        cap = await self.cap(run_id)
        if cap is None:
            return Admission(run_id, 0.0, shared=False)
        deadline = time.monotonic() + self._max_wait_s
        while True:
            try:
                verdict = await self._admit_shared(run_id, estimate_usd, cap)
                shared = True
            except UNAVAILABLE as exc:
                logger.warning("Redis unavailable (%s): run %s's budget checked against "
                               "PostgreSQL", type(exc).__name__, run_id)
                verdict = await self._admit_local(run_id, estimate_usd, cap)
                shared = False
            if verdict == 1:
                return Admission(run_id, estimate_usd, shared=shared)
            if verdict == 0 or time.monotonic() > deadline:
                return None
            await asyncio.sleep(RECHECK_S)

    async def _admit_shared(self, run_id: UUID, estimate_usd: float, cap: float) -> int:
        key = budget_key(run_id)
        for _ in range(2):
            verdict = int(await self._admit(keys=[key], args=[estimate_usd, cap, SPEND_TTL_MS]))
            if verdict >= 0:
                return verdict
            spent = await self._pool.fetchval(_RUN_SPEND, run_id)
            await self._redis.hsetnx(key, "spent", repr(float(spent)))
        raise RuntimeError(f"run {run_id}: budget counter vanished twice while seeding")

    async def _admit_local(self, run_id: UUID, estimate_usd: float, cap: float) -> int:
        spent = await self._spent_in_postgres(run_id)
        if spent + estimate_usd > cap:
            return 0
        if spent + self._in_flight[run_id] + estimate_usd > cap:
            return 2
        self._in_flight[run_id] += estimate_usd
        return 1

    async def settle(self, admission: Admission, cost_usd: float) -> None:
        """Replace the reservation by what the call really cost (0 when it failed)."""
        if not admission.reserved_usd:
            return
        if not admission.shared:
            self._in_flight[admission.run_id] -= admission.reserved_usd
            return
        try:
            await self._settle(keys=[budget_key(admission.run_id)],
                               args=[admission.reserved_usd, cost_usd])
        except UNAVAILABLE as exc:
            # The reservation stays counted: the cap errs on the safe side.
            logger.warning("Redis unavailable (%s): run %s's spend not corrected",
                           type(exc).__name__, admission.run_id)

    async def _spent_in_postgres(self, run_id: UUID) -> float:
        cached = self._pg_spend.get(run_id)
        if cached is None or time.monotonic() - cached[1] > PG_SPEND_TTL_S:
            cached = (float(await self._pool.fetchval(_RUN_SPEND, run_id)), time.monotonic())
            self._pg_spend[run_id] = cached
        return cached[0]
