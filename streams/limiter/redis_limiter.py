"""The shared limiter: every process reserves from the same buckets in Redis (``token_bucket.lua``),
so all of them together stay under each key's limits, and a 429 or a revoked key is known to all.

While Redis does not answer, each process falls back to a :class:`LocalLimiter` holding 1/N of
every limit, N being the most processes it ever saw registered; a process that never reached
Redis has no N and waits for it. When Redis answers again the process shares again, starting
from empty buckets (what was sent meanwhile is unknown).

Either switch starts the new buckets empty *after the last slot this process already reserved*,
not at the moment of the switch: calls reserved ahead (up to the provider's concurrency of them)
still go out at their slots, and a bucket starting empty now would send beside them at twice
the rate (the 429s seen while Redis was away or right after it came back)."""

from __future__ import annotations

import asyncio
import importlib.resources
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiodataloader import DataLoader
from redis.asyncio import Redis
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from streams.limiter.base import (
    FALLBACKS,
    KEYS_REVOKED,
    THROTTLED,
    KeyLimits,
    KeyState,
    NoUsableKey,
    RateLimitBacklog,
    Reservation,
    Settlement,
)
from streams.limiter.local_limiter import LocalLimiter
from streams.providers.types import ProviderKey

logger = logging.getLogger(__name__)

SCRIPT = importlib.resources.files("streams.limiter").joinpath("token_bucket.lua").read_text()
PEERS_KEY = "dr:limiter:peers"
HEARTBEAT_EVERY_S = 2.0
PEER_TTL_S = 10.0
# While in fallback, Redis is tried again this often (not on every call: each try can cost a
# connect timeout).
REDIS_RETRY_S = 1.0
# Redis being down, restarting or loading its data set: fall back. Anything else (a script
# error) is a bug and raises.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, OSError)

Keys = dict[str, list[tuple[ProviderKey, KeyLimits]]]


def key_hash(key: ProviderKey) -> str:
    """The key's Redis hash: its provider as hash tag (one cluster slot per provider) and the
    digest part of its fingerprint, so reordering ``*_API_KEY_n`` variables keeps its state."""
    return f"dr:limiter:{{{key.provider}}}:{key.fingerprint.rsplit(':', 1)[-1]}"


def _micros(seconds: float | None) -> int:
    return -1 if seconds is None else max(0, round(seconds * 1_000_000))


def _or_minus_one(value: int | None) -> int:
    return -1 if value is None else value


def settle_args(limits: KeyLimits | None, reservation: Reservation | None,
                settlement: Settlement) -> list[Any]:
    """The script's ``settle`` arguments, in its order. Without a reservation (a revocation
    seen while Redis was away) nothing is refunded or moved; only the reason is recorded."""
    info = settlement.rate_limit
    rpm, tpm, burst, token_burst = ((limits.rpm, limits.tpm, limits.burst, limits.token_burst)
                                    if limits else (0, 0, 1, 1))
    return [
        "settle", rpm, tpm, burst, token_burst,
        reservation.tokens if reservation else 0, _or_minus_one(settlement.used_tokens),
        reservation.t_allow_us if reservation else 0, reservation.req_tat_us if reservation else 0,
        reservation.tok_tat_us if reservation else 0, reservation.epoch if reservation else -1,
        _micros(settlement.retry_after_s),
        _or_minus_one(info.limit_requests if info else None),
        _or_minus_one(info.remaining_requests if info else None),
        _or_minus_one(info.limit_tokens if info else None),
        _or_minus_one(info.remaining_tokens if info else None),
        settlement.revoke_reason or "",
    ]


class RedisLimiter:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        max_wait_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._script = redis.register_script(SCRIPT)
        self._keys = keys
        self._max_wait_s = max_wait_s
        self._clock = clock
        self.process_id = uuid.uuid4().hex
        # Revocations this process knows of, and those Redis has not heard of yet.
        self._revoked: dict[str, str] = {}
        self._unpublished: dict[ProviderKey, str] = {}
        self.peers_max = 0
        self._next_heartbeat = 0.0
        self.fallback: LocalLimiter | None = None
        self._in_fallback = False
        self._retry_at = 0.0
        # Providers whose next shared reservation starts from empty buckets (after a fallback).
        self._resume: set[str] = set()
        # Per key fingerprint: the latest slot (``clock`` time) this process reserved, shared or
        # local. A switch of limiter starts the new buckets empty there.
        self._horizon: dict[str, float] = {}
        self._batched: DataLoader[tuple[list[str], list[Any]], Any] | None = None

    async def _eval(self, keys: list[str], args: list[Any]) -> Any:
        """Run the script. Runs asked for in the same event-loop tick (a batch's reservations,
        answers settled together) share one round trip: a pipeline, in which each run is still
        atomic and runs in order."""
        loop = asyncio.get_running_loop()
        if self._batched is None or self._batched.loop is not loop:
            self._batched = DataLoader(self._eval_many, cache=False, get_cache_key=id,
                                       max_batch_size=256, loop=loop)
        return await self._batched.load((keys, args))

    async def _eval_many(self, runs: list[tuple[list[str], list[Any]]]) -> list[Any]:
        if len(runs) == 1:
            keys, args = runs[0]
            return [await self._script(keys=keys, args=args)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for keys, args in runs:
                await self._script(keys=keys, args=args, client=pipe)
            return list(await pipe.execute(raise_on_error=False))

    # -- reserve ------------------------------------------------------------------------------

    async def reserve(self, provider: str, tokens: int) -> Reservation:
        if not self._keys.get(provider):
            raise NoUsableKey(f"{provider}: no API key configured")
        deadline = self._clock() + self._max_wait_s
        while True:
            if not self._in_fallback or self._clock() >= self._retry_at:
                try:
                    return self._reserved(await self._reserve_shared(provider, tokens))
                except UNAVAILABLE as exc:
                    self._enter_fallback(exc)
            if self.fallback is not None:
                return self._reserved(await self.fallback.reserve(provider, tokens))
            # Never reached Redis: this process does not know its share, so it waits.
            if self._clock() >= deadline:
                raise RateLimitBacklog(
                    f"{provider}: Redis unreachable for {self._max_wait_s:.0f} s")
            await asyncio.sleep(max(0.0, self._retry_at - self._clock()))

    def _reserved(self, reservation: Reservation) -> Reservation:
        fingerprint = reservation.key.fingerprint
        slot = self._clock() + reservation.wait_s
        self._horizon[fingerprint] = max(self._horizon.get(fingerprint, slot), slot)
        return reservation

    def _ahead_s(self, key: ProviderKey) -> float:
        """How far ahead of now this process has already reserved ``key``."""
        return max(0.0, self._horizon.get(key.fingerprint, 0.0) - self._clock())

    async def _reserve_shared(self, provider: str, tokens: int) -> Reservation:
        entries = self._keys[provider]
        await self._heartbeat_if_due()
        if self._unpublished:
            await self._publish_revocations()
        resume = provider in self._resume
        args: list[Any] = ["reserve", tokens, _micros(self._max_wait_s), 1 if resume else 0]
        for key, limits in entries:
            args += [limits.rpm, limits.tpm, limits.burst, limits.token_burst,
                     1 if key.fingerprint in self._revoked else 0,
                     _micros(self._ahead_s(key)) if resume else 0]
        reply = await self._eval([key_hash(key) for key, _ in entries], args)
        self._resume.discard(provider)
        self._leave_fallback()
        index = int(reply[0])
        if index == 0:
            raise NoUsableKey(f"{provider}: no usable API key ({len(entries)} configured, "
                              "all refused)")
        if index < 0:
            raise RateLimitBacklog(f"{provider}: no key can send within "
                                   f"{self._max_wait_s:.0f} s (soonest in "
                                   f"{int(reply[1]) / 1e6:.0f} s)")
        key = entries[index - 1][0]
        return Reservation(
            key=key, wait_s=int(reply[1]) / 1e6, tokens=tokens, t_allow_us=int(reply[2]),
            req_tat_us=int(reply[3]), tok_tat_us=int(reply[4]), epoch=int(reply[5]),
        )

    # -- settle -------------------------------------------------------------------------------

    async def settle(self, reservation: Reservation, settlement: Settlement) -> None:
        key = reservation.key
        if settlement.retry_after_s is not None:
            THROTTLED.add(1, {"provider": key.provider})
        reason = settlement.revoke_reason
        known = key.fingerprint in self._revoked
        if reason:
            self._revoked.setdefault(key.fingerprint, reason)
        newly = bool(reason) and not known
        # While in fallback, Redis is not asked before its next try: an unreachable host would
        # cost every call a timeout.
        if reservation.local or (self._in_fallback and self._clock() < self._retry_at):
            if self.fallback is not None:
                # A reservation made in Redis took nothing from the local buckets: no refund.
                await self.fallback.settle(reservation, settlement if reservation.local
                                           else replace(settlement, used_tokens=None))
            if reason:
                self._unpublished[key] = reason
        else:
            try:
                reply = await self._eval([key_hash(key)],
                                         self._settle_args(reservation, settlement))
                newly = int(reply[0]) == 1
            except UNAVAILABLE as exc:
                self._enter_fallback(exc)
                if reason:
                    self._unpublished[key] = reason
        if reason:
            self._report_revoked(key, reason, newly=newly)

    def _settle_args(self, reservation: Reservation, settlement: Settlement) -> list[Any]:
        return settle_args(self._limits_of(reservation.key), reservation, settlement)

    def _limits_of(self, key: ProviderKey) -> KeyLimits:
        for candidate, limits in self._keys.get(key.provider, []):
            if candidate.fingerprint == key.fingerprint:
                return limits
        raise KeyError(key.fingerprint)

    def _report_revoked(self, key: ProviderKey, reason: str, *, newly: bool) -> None:
        if newly:
            KEYS_REVOKED.add(1, {"provider": key.provider, "key": key.fingerprint})
            logger.error("key %s taken out of rotation: %s", key.fingerprint, reason)
        else:
            logger.info("key %s was already out of rotation: %s", key.fingerprint, reason)

    async def _publish_revocations(self) -> None:
        """Revocations seen while Redis was down, so the other processes learn of them."""
        for key, reason in list(self._unpublished.items()):
            await self._script(keys=[key_hash(key)],
                               args=settle_args(None, None, Settlement(revoke_reason=reason)))
            del self._unpublished[key]

    # -- fallback -----------------------------------------------------------------------------

    async def _heartbeat_if_due(self) -> None:
        if self._clock() < self._next_heartbeat:
            return
        count = await self._script(
            keys=[PEERS_KEY], args=["heartbeat", self.process_id, _micros(PEER_TTL_S)])
        self.peers_max = max(self.peers_max, int(count))
        self._next_heartbeat = self._clock() + HEARTBEAT_EVERY_S

    def _enter_fallback(self, exc: BaseException) -> None:
        self._retry_at = self._clock() + REDIS_RETRY_S
        if self._in_fallback:
            return
        self._in_fallback = True
        self._resume = set(self._keys)
        FALLBACKS.add(1)
        if self.peers_max:
            share = 1 / self.peers_max
            empty_at = {key.fingerprint: self._clock() + self._ahead_s(key)
                        for entries in self._keys.values() for key, _ in entries}
            self.fallback = LocalLimiter(self._keys, max_wait_s=self._max_wait_s, share=share,
                                         start_full=False, empty_at=empty_at,
                                         revoked=self._revoked, clock=self._clock)
            logger.warning("Redis unavailable (%s): limiting this process to 1/%d of each key",
                           type(exc).__name__, self.peers_max)
        else:
            logger.warning("Redis unavailable (%s) before this process learnt its share: "
                           "waiting for it", type(exc).__name__)

    def _leave_fallback(self) -> None:
        if self._in_fallback:
            logger.warning("Redis answers again: sharing the keys' buckets again")
            if self.fallback is not None:
                self._revoked.update(self.fallback.revoked)
        self._in_fallback = False
        self.fallback = None

    # -- inspection and administration -------------------------------------------------------

    async def key_states(self) -> list[KeyState]:
        pairs = [(provider, key, limits) for provider, entries in self._keys.items()
                 for key, limits in entries]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.time()
            for _, key, _ in pairs:
                pipe.hgetall(key_hash(key))
            replies = await pipe.execute()
        seconds, micros = replies[0]
        now = int(seconds) * 1_000_000 + int(micros)
        return [_state(provider, key, limits, fields, now)
                for (provider, key, limits), fields in zip(pairs, replies[1:], strict=True)]

    async def reinstate(self, fingerprint: str) -> bool:
        """Put a revoked key back into rotation (after fixing it with the provider)."""
        for entries in self._keys.values():
            for key, _ in entries:
                if key.fingerprint == fingerprint:
                    self._revoked.pop(fingerprint, None)
                    return bool(await self._script(keys=[key_hash(key)], args=["reinstate"]))
        raise KeyError(f"no configured key {fingerprint}")


def _state(provider: str, key: ProviderKey, limits: KeyLimits, fields: dict[str, str],
           now: int) -> KeyState:
    def number(name: str) -> float:
        return float(fields.get(name) or 0)

    header_rpm = int(number("hdr_rpm")) or None
    header_tpm = int(number("hdr_tpm")) or None
    revoked_at = fields.get("revoked_at")
    return KeyState(
        provider=provider, fingerprint=key.fingerprint,
        state="revoked" if revoked_at else "active", reason=fields.get("revoked_reason"),
        revoked_at=(datetime.fromtimestamp(int(revoked_at) / 1e6, UTC) if revoked_at else None),
        limits=limits, header_rpm=header_rpm, header_tpm=header_tpm,
        requests_level=_level(min(filter(None, (limits.rpm, header_rpm))) if limits.rpm else 0,
                              limits.burst, number("req_tat"), now),
        tokens_level=_level(min(filter(None, (limits.tpm, header_tpm))) if limits.tpm else 0,
                            limits.token_burst, number("tok_tat"), now),
        blocked_for_s=max(0.0, (number("blocked_until") - now) / 1e6),
        reserved=int(number("reserved")), throttled=int(number("throttled")),
    )


def _level(rate: int, capacity: float, tat_us: float, now_us: int) -> float | None:
    if rate <= 0:
        return None
    return capacity - max(0.0, tat_us - now_us) / 1e6 * rate / 60.0
