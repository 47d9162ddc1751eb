"""A circuit breaker per provider and process, so an outage of one provider fails its calls fast
instead of tying up workers (and a batch's other providers) in retries.

Closed: calls go through; ``failure_threshold`` consecutive failures open it. Open: calls are
refused until ``reset_timeout_s`` has passed, then exactly one probe goes through (half-open);
its success closes the breaker, its failure opens it again, and an answer that says nothing
about the provider's health (e.g. a 429) lets the next call probe instead.

Written here rather than taken from a library: the ones on PyPI either let every call through
while half-open (purgatory) or wrap calls in Tornado coroutines (pybreaker), and the caller
here must classify failures itself (a 429 or a bad key is not an outage)."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(self, *, failure_threshold: int, reset_timeout_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._threshold = failure_threshold
        self._reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._cooled_down():
            return BreakerState.HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """May a call go out now? In half-open state only the one probe may."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            if not self._cooled_down():
                return False
            self._state = BreakerState.HALF_OPEN
        if self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()
        self._probing = False

    def release(self) -> None:
        """The call's answer said nothing about the provider's health: free the probe."""
        self._probing = False

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self._reset_timeout_s
