"""One provider call: the caller (limiter, adapter, settlement, retries), the run's cost cap,
and the per-provider circuit breaker."""

from __future__ import annotations

from streams.calls.caller import ProviderCaller, Unsent, retry_delay_s
from streams.calls.circuit_breaker import BreakerState, CircuitBreaker
from streams.calls.cost_cap import RunBudget

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "ProviderCaller",
    "RunBudget",
    "Unsent",
    "retry_delay_s",
]
