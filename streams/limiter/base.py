"""The limiter's vocabulary: limits per key, reservations, settlements, the state of a key, and
the interface both limiters (shared in Redis, local to a process) implement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from opentelemetry import metrics

from streams.config import Settings
from streams.errors import DomainRunnerError
from streams.providers.types import ProviderConfig, ProviderKey, RateLimitInfo, prompt_tokens_bound

# Framing a chat request adds (role markers, separators) on top of the prompt's own tokens.
_REQUEST_OVERHEAD_TOKENS = 8

_meter = metrics.get_meter("domain_runner.limiter")
KEYS_REVOKED = _meter.create_counter(
    "domain_runner.provider_keys.revoked", description="API keys taken out of rotation")
THROTTLED = _meter.create_counter(
    "domain_runner.provider.throttled", description="429 answers from providers")
FALLBACKS = _meter.create_counter(
    "domain_runner.limiter.fallbacks", description="switches to the local limiter (Redis down)")


class NoUsableKey(DomainRunnerError, RuntimeError):
    """Every key of the provider is missing or was refused."""


class RateLimitBacklog(DomainRunnerError, RuntimeError):
    """Even the provider's soonest key could not send within ``limiter_max_wait_s``."""


@dataclass(frozen=True)
class KeyLimits:
    """One key's buckets: ``rpm``/``tpm`` 0 means unlimited; ``burst``/``token_burst`` are the
    capacities (at most this many requests/tokens at once after an idle spell)."""

    rpm: int
    tpm: int
    burst: float
    token_burst: float


def key_limits(config: ProviderConfig, key: ProviderKey, *, burst_s: float) -> KeyLimits:
    """Per-key overrides, else the provider's limits; capacities default to ``burst_s`` seconds
    of the rate (at least one request, at least one second of tokens)."""
    rpm = key.rpm or config.rpm
    tpm = key.tpm or config.tpm
    burst = float(config.burst) if config.burst else max(1.0, rpm / 60 * burst_s)
    token_burst = (float(config.token_burst) if config.token_burst
                   else max(1.0, tpm / 60 * max(burst_s, 1.0)))
    return KeyLimits(rpm=rpm, tpm=tpm, burst=burst, token_burst=token_burst)


def estimate_tokens(prompt: str, max_output_tokens: int) -> int:
    """What a call may use at most: its prompt's bound plus every output token it may produce."""
    return prompt_tokens_bound(prompt) + _REQUEST_OVERHEAD_TOKENS + max_output_tokens


@dataclass(frozen=True)
class Reservation:
    """The right to send one call with ``key`` after sleeping ``wait_s``. The remaining fields
    let :meth:`Limiter.settle` compare the provider's view with the limiter's."""

    key: ProviderKey
    wait_s: float
    tokens: int
    t_allow_us: int = 0
    req_tat_us: int = 0
    tok_tat_us: int = 0
    epoch: int = 0
    local: bool = False


@dataclass(frozen=True)
class Settlement:
    """What the answer to a reserved call said about the key."""

    used_tokens: int | None = None
    rate_limit: RateLimitInfo | None = None
    # Set on a 429: how long every process should leave the key alone.
    retry_after_s: float | None = None
    # Set on a 401/403: the key leaves rotation for every process.
    revoke_reason: str | None = None


@dataclass(frozen=True)
class KeyState:
    """One configured key as the limiter sees it (for ``domain-runner keys``)."""

    provider: str
    fingerprint: str
    state: Literal["active", "revoked", "unknown"]
    reason: str | None
    revoked_at: datetime | None
    limits: KeyLimits
    # Limits the provider's headers reported, when lower than configuration.
    header_rpm: int | None
    header_tpm: int | None
    requests_level: float | None
    tokens_level: float | None
    blocked_for_s: float
    reserved: int
    throttled: int


class Limiter(Protocol):
    """Reserve before sending, sleep the wait, send, settle with what the answer said."""

    async def reserve(self, provider: str, tokens: int) -> Reservation:
        """The key of ``provider`` that can send soonest; raises :class:`NoUsableKey` or
        :class:`RateLimitBacklog`."""
        ...

    async def settle(self, reservation: Reservation, settlement: Settlement) -> None: ...

    async def key_states(self) -> list[KeyState]: ...


def provider_limits(settings: Settings) -> dict[str, list[tuple[ProviderKey, KeyLimits]]]:
    """Every configured key of every enabled provider with its limits."""
    return {
        name: [(key, key_limits(config, key, burst_s=settings.limiter.burst_s))
               for key in config.keys]
        for name, config in settings.provider_configs.items()
    }
