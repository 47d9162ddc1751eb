"""One provider call from request to raw response: a key reserved from the limiter, the adapter,
the settlement of what the answer said about the key, bounded retries, cost.

Per provider and process a concurrency cap and a circuit breaker keep one provider's outage from
tying up the workers (and the batches) of the others."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from opentelemetry import trace

from contracts import ProviderCallRequested, RawResponse
from streams.calls.circuit_breaker import CircuitBreaker
from streams.config import Settings
from streams.errors import DomainRunnerError
from streams.limiter import (
    Limiter,
    NoUsableKey,
    RateLimitBacklog,
    Settlement,
    estimate_tokens,
)
from streams.providers import (
    AuthenticationFailed,
    CompletionRequest,
    ProviderAdapter,
    ProviderError,
    RateLimited,
    TransientProviderError,
    adapter_for,
)
from streams.providers.types import ProviderConfig, prompt_tokens_bound
from streams.runtime.tracing import current_trace_id

MAX_BACKOFF_S = 30.0
# A 429 without a retry-after still holds the key back this long for every process.
DEFAULT_RETRY_AFTER_S = 1.0


def backoff_s(attempt: int, retry_after_s: float | None, base_s: float = 1.0) -> float:
    """Exponential with equal jitter (at least half the step, so a retry budget has a floor),
    never sooner than the provider asked."""
    exponential = min(MAX_BACKOFF_S, base_s * 2.0 ** (attempt - 1))
    return max(retry_after_s or 0.0, exponential * random.uniform(0.5, 1.0))


class CircuitOpen(DomainRunnerError):
    """The provider failed repeatedly; calls are held back until a probe succeeds."""


class ClaimLost(DomainRunnerError):
    """The call's claim lapsed and another process took it."""


class UnknownProvider(DomainRunnerError):
    """The request names a provider this deployment does not configure."""


@dataclass(frozen=True, kw_only=True)
class Unsent:
    """A call that produced no answer: ``retry`` after ``delay_s`` (re-published from
    PostgreSQL, so no partition waits), ``failed`` for good (dead-lettered), or ``abandoned``:
    not sent because this process no longer holds the call (another does)."""

    status: Literal["retry", "failed", "abandoned"]
    error: BaseException
    attempts: int
    delay_s: float = 0.0
    key_fingerprint: str | None = None

    @property
    def error_type(self) -> str:
        return type(self.error).__name__

    @property
    def message(self) -> str:
        return self.error.message if isinstance(self.error, ProviderError) else str(self.error)


def _provider_wait_s(error: ProviderError) -> float | None:
    if isinstance(error, RateLimited):
        return error.retry_after_s
    return error.rate_limit.suggested_wait_s() if error.rate_limit else None


def retry_delay_s(
    error: ProviderError, attempt: int, max_attempts: int, base_s: float = 1.0
) -> float | None:
    """The one retry policy: ``None`` gives up, otherwise the seconds to wait before the next
    attempt. A 429 and a refused key retry at once: the limiter already holds the key back for
    every process (or has taken it out of rotation), so the next reservation waits as needed."""
    if attempt >= max_attempts:
        return None
    if isinstance(error, RateLimited | AuthenticationFailed):
        return 0.0
    if error.retryable:
        return backoff_s(attempt, _provider_wait_s(error), base_s)
    return None


def settlement_for(error: ProviderError) -> Settlement:
    """What a failed call tells the limiter about its key."""
    if isinstance(error, AuthenticationFailed):
        # QuotaExhausted too: waiting does not bring credit back.
        return Settlement(rate_limit=error.rate_limit,
                          revoke_reason=f"{type(error).__name__}: {error.message}")
    if isinstance(error, RateLimited):
        return Settlement(rate_limit=error.rate_limit,
                          retry_after_s=error.retry_after_s or DEFAULT_RETRY_AFTER_S)
    return Settlement(rate_limit=error.rate_limit)


class ProviderCaller:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, limiter: Limiter) -> None:
        self._settings = settings
        self._http = http
        self._limiter = limiter
        self._configs = settings.provider_configs
        # One adapter per provider and mode; retrieval only where the provider can search.
        self._adapters: dict[tuple[str, str], ProviderAdapter] = {
            (name, mode): adapter_for(config, mode)
            for name, config in self._configs.items()
            for mode in ("memory", "retrieval")
            if mode == "memory" or config.spec.retrieval.api is not None
        }
        self.breakers = {
            name: CircuitBreaker(failure_threshold=settings.breaker.failures,
                                 reset_timeout_s=settings.breaker.reset_s)
            for name in self._configs
        }
        self._slots = {name: asyncio.Semaphore(settings.provider.concurrency)
                       for name in self._configs}

    def max_cost_usd(self, request: ProviderCallRequested) -> float:
        """The most this call can cost (every output token used): what a cost cap reserves."""
        config = self._configs.get(request.provider)
        if config is None:
            return 0.0
        searches = config.spec.retrieval.max_searches if request.mode == "retrieval" else 0
        return config.cost_usd(prompt_tokens_bound(request.prompt),
                               self._settings.max_output_tokens, searches)

    async def call(
        self, request: ProviderCallRequested, *, attempts_before: int = 0,
        still_ours: Callable[[], Awaitable[bool]] | None = None,
    ) -> RawResponse | Unsent:
        """The answer, or why there is none yet (retry) or ever (failed). ``still_ours`` is
        asked right before each send, after any wait: a call that is no longer this process's
        is abandoned unsent rather than paid twice."""
        config = self._configs.get(request.provider)
        if config is None:
            return Unsent(status="failed", attempts=attempts_before, error=UnknownProvider(
                f"provider {request.provider!r} is not configured here"))
        if (request.provider, request.mode) not in self._adapters:
            # Planning refuses these; a hand-made request still never falls back to memory.
            return Unsent(status="failed", attempts=attempts_before, error=UnknownProvider(
                f"{request.provider} has no web search: {config.spec.retrieval.refusal}"))
        attempt = attempts_before
        async with self._slots[request.provider]:
            while True:
                attempt += 1
                outcome = await self._attempt(request, config, attempt, still_ours)
                if outcome is not None:
                    return outcome

    async def _attempt(self, request: ProviderCallRequested, config: ProviderConfig,
                       attempt: int, still_ours: Callable[[], Awaitable[bool]] | None,
                       ) -> RawResponse | Unsent | None:
        """One attempt: the answer, why there is none, or None to go again at once (a 429 or a
        refused key: the limiter already makes the next reservation wait)."""
        settings, breaker = self._settings, self.breakers[request.provider]
        if not breaker.allow():
            # Never back before the breaker lets a probe out: retried sooner, calls held back
            # by the breaker spend their whole budget on it and are dead-lettered while the
            # provider has recovered.
            return self._retry_or_fail(
                CircuitOpen(f"{request.provider}: circuit open after repeated failures; "
                            "not sent"),
                attempt, backoff_s(attempt, settings.breaker.reset_s, settings.retry.base_s))
        try:
            reservation = await self._limiter.reserve(
                request.provider, estimate_tokens(request.prompt, settings.max_output_tokens))
        except NoUsableKey as exc:
            breaker.release()
            return Unsent(status="failed", error=exc, attempts=attempt)
        except RateLimitBacklog as exc:
            breaker.release()
            return self._retry_or_fail(exc, attempt,
                                       backoff_s(attempt, None, settings.retry.base_s))
        trace.get_current_span().add_event(
            "limiter.reserved", {"key": reservation.key.fingerprint,
                                 "wait_s": reservation.wait_s})
        await asyncio.sleep(reservation.wait_s)
        key = reservation.key
        if still_ours is not None and not await still_ours():
            breaker.release()
            await self._limiter.settle(reservation, Settlement(used_tokens=0))
            return Unsent(status="abandoned", attempts=attempt, error=ClaimLost(
                f"call {request.call_id} is held by another process; not sent"))
        started = time.perf_counter()
        try:
            completion = await self._adapters[(request.provider, request.mode)].complete(
                self._http, key, CompletionRequest(
                    model=request.model, prompt=request.prompt, sample=request.sample,
                    max_tokens=settings.max_output_tokens, run_id=str(request.run_id),
                    mode=request.mode))
        except ProviderError as exc:
            await self._limiter.settle(reservation, settlement_for(exc))
            if isinstance(exc, TransientProviderError):
                breaker.record_failure()
            else:
                breaker.release()
            delay = retry_delay_s(exc, attempt, settings.provider.max_attempts,
                                  settings.retry.base_s)
            if delay is None:
                return Unsent(status="failed", error=exc, attempts=attempt,
                              key_fingerprint=key.fingerprint)
            if delay > 0:
                return Unsent(status="retry", error=exc, attempts=attempt, delay_s=delay,
                              key_fingerprint=key.fingerprint)
            return None
        latency_ms = (time.perf_counter() - started) * 1000
        breaker.record_success()
        await self._limiter.settle(reservation, Settlement(
            used_tokens=completion.input_tokens + completion.output_tokens,
            rate_limit=completion.rate_limit,
        ))
        return _response(
            request, status="ok", text=completion.text, model_version=completion.model_version,
            finish_reason=completion.finish_reason, input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=config.cost_usd(completion.input_tokens, completion.output_tokens,
                                     completion.web_searches),
            web_searches=completion.web_searches, raw_body=completion.body,
            body_api=completion.api,
            latency_ms=latency_ms, attempts=attempt, key_fingerprint=key.fingerprint,
            trace_id=current_trace_id(), responded_at=datetime.now(UTC),
        )

    def _retry_or_fail(self, error: BaseException, attempt: int, delay_s: float) -> Unsent:
        """Retried after ``delay_s``, or failed once the call has used its attempts."""
        if attempt >= self._settings.provider.max_attempts:
            return Unsent(status="failed", error=error, attempts=attempt)
        return Unsent(status="retry", error=error, attempts=attempt, delay_s=delay_s)

    @staticmethod
    def skipped(request: ProviderCallRequested, error_type: str, error: str) -> RawResponse:
        """A call recorded without being sent (``BudgetExhausted``)."""
        return _response(
            request, status="skipped", attempts=0, error_type=error_type, error=error,
            trace_id=current_trace_id(),
            responded_at=datetime.now(UTC),
        )


# What a response repeats of its request, so the two cannot drift apart.
_FROM_REQUEST: set[str] = {"call_id", "run_id", "domain", "provider", "model", "prompt_id",
                           "prompt_version", "sample", "mode"}


def _response(request: ProviderCallRequested, **fields: Any) -> RawResponse:
    return RawResponse(**request.model_dump(include=_FROM_REQUEST), **fields)
