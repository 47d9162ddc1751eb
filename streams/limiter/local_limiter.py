"""The same buckets kept in one process's memory: the fallback while Redis is down (with this
process's share of each limit) and, with the whole limit, the old per-process behaviour that the
budget benchmark measures as its baseline. The provider's headers are not folded in here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from streams.limiter.base import (
    KeyLimits,
    KeyState,
    NoUsableKey,
    RateLimitBacklog,
    Reservation,
    Settlement,
)
from streams.providers.types import ProviderKey


@dataclass
class _Key:
    key: ProviderKey
    limits: KeyLimits
    req_tat: float
    tok_tat: float
    blocked_until: float = 0.0
    reserved: int = 0
    throttled: int = 0


class LocalLimiter:
    """GCRA buckets per key in seconds of ``clock``; ``share`` scales every rate and capacity
    (1/N for one of N processes); ``start_full=False`` starts with empty buckets, empty from
    ``empty_at[fingerprint]`` where that is later than now (slots already reserved elsewhere)."""

    def __init__(
        self,
        keys: dict[str, list[tuple[ProviderKey, KeyLimits]]],
        *,
        max_wait_s: float,
        share: float = 1.0,
        start_full: bool = True,
        empty_at: dict[str, float] | None = None,
        revoked: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share}")
        self._clock = clock
        self._max_wait_s = max_wait_s
        self.revoked: dict[str, str] = dict(revoked or {})
        now = clock()
        self._keys: dict[str, list[_Key]] = {}
        for provider, pairs in keys.items():
            entries = []
            for key, limits in pairs:
                scaled = replace(limits, rpm=_scaled(limits.rpm, share),
                                 tpm=_scaled(limits.tpm, share),
                                 burst=max(1.0, limits.burst * share),
                                 token_burst=max(1.0, limits.token_burst * share))
                # A theoretical arrival time in the past is a full bucket; ``now + capacity``
                # an empty one.
                full = float("-inf")
                start = max(now, (empty_at or {}).get(key.fingerprint, now))
                entries.append(_Key(
                    key=key, limits=scaled,
                    req_tat=full if start_full else start + _tau(scaled.rpm, scaled.burst),
                    tok_tat=full if start_full else start + _tau(scaled.tpm, scaled.token_burst),
                ))
            self._keys[provider] = entries

    async def reserve(self, provider: str, tokens: int) -> Reservation:
        entries = self._keys.get(provider, [])
        now = self._clock()
        best: tuple[float, float, _Key] | None = None
        for entry in entries:
            if entry.key.fingerprint in self.revoked:
                continue
            at = max(now, entry.blocked_until)
            limits = entry.limits
            if limits.rpm > 0:
                interval = 60.0 / limits.rpm
                at = max(at, entry.req_tat + interval - limits.burst * interval)
            if limits.tpm > 0:
                interval = 60.0 / limits.tpm
                cost = min(tokens, limits.token_burst)
                at = max(at, entry.tok_tat + (cost - limits.token_burst) * interval)
            if best is None or (at, entry.req_tat) < best[:2]:
                best = (at, entry.req_tat, entry)
        if best is None:
            raise NoUsableKey(f"{provider}: no usable API key ({len(entries)} configured"
                              f"{', all refused' if entries else ''})")
        at, _, entry = best
        if at - now > self._max_wait_s:
            raise RateLimitBacklog(f"{provider}: no key can send within {self._max_wait_s:.0f} s")
        if entry.limits.rpm > 0:
            entry.req_tat = max(entry.req_tat, at) + 60.0 / entry.limits.rpm
        if entry.limits.tpm > 0:
            entry.tok_tat = max(entry.tok_tat, at) + tokens * 60.0 / entry.limits.tpm
        entry.reserved += 1
        return Reservation(key=entry.key, wait_s=at - now, tokens=tokens, local=True)

    async def settle(self, reservation: Reservation, settlement: Settlement) -> None:
        entry = self._find(reservation.key)
        if settlement.revoke_reason:
            self.revoked.setdefault(reservation.key.fingerprint, settlement.revoke_reason)
        if entry is None:
            return
        used = settlement.used_tokens
        if used is not None and used < reservation.tokens and entry.limits.tpm > 0:
            entry.tok_tat -= (reservation.tokens - used) * 60.0 / entry.limits.tpm
        if settlement.retry_after_s is not None:
            entry.blocked_until = max(entry.blocked_until,
                                      self._clock() + settlement.retry_after_s)
            entry.throttled += 1

    async def key_states(self) -> list[KeyState]:
        now = self._clock()
        states = []
        for provider, entries in self._keys.items():
            for entry in entries:
                limits = entry.limits
                reason = self.revoked.get(entry.key.fingerprint)
                states.append(KeyState(
                    provider=provider, fingerprint=entry.key.fingerprint,
                    state="revoked" if reason else "active", reason=reason, revoked_at=None,
                    limits=limits, header_rpm=None, header_tpm=None,
                    requests_level=_level(limits.rpm, limits.burst, entry.req_tat, now),
                    tokens_level=_level(limits.tpm, limits.token_burst, entry.tok_tat, now),
                    blocked_for_s=max(0.0, entry.blocked_until - now),
                    reserved=entry.reserved, throttled=entry.throttled,
                ))
        return states

    def _find(self, key: ProviderKey) -> _Key | None:
        for entry in self._keys.get(key.provider, []):
            if entry.key.fingerprint == key.fingerprint:
                return entry
        return None


def _scaled(rate: int, share: float) -> int:
    return max(1, int(rate * share)) if rate > 0 else 0


def _tau(rate: int, capacity: float) -> float:
    return capacity * 60.0 / rate if rate > 0 else 0.0


def _level(rate: int, capacity: float, tat: float, now: float) -> float | None:
    if rate <= 0:
        return None
    return capacity - max(0.0, tat - now) * rate / 60.0
