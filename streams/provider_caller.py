"""One provider call from request to raw response: key, adapter, bounded retries, cost."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

import httpx

from contracts import ProviderCallRequested, RawResponse
from streams.config import Settings
from streams.key_rotation import KeyRotation, NoUsableKey
from streams.providers import (
    AuthenticationFailed,
    CompletionRequest,
    ProviderAdapter,
    ProviderError,
    RateLimited,
    adapter_for,
)
from streams.tracing import current_trace_id

MAX_BACKOFF_S = 30.0


def backoff_s(attempt: int, retry_after_s: float | None) -> float:
    """Exponential with full jitter, never sooner than the provider asked."""
    exponential = min(MAX_BACKOFF_S, 0.5 * 2 ** (attempt - 1))
    return max(retry_after_s or 0.0, random.uniform(0, exponential))


def _provider_wait_s(error: ProviderError) -> float | None:
    if isinstance(error, RateLimited):
        return error.retry_after_s
    return error.rate_limit.suggested_wait_s() if error.rate_limit else None


class ProviderCaller:
    def __init__(self, settings: Settings, http: httpx.AsyncClient, keys: KeyRotation) -> None:
        self._settings = settings
        self._http = http
        self._keys = keys
        self._configs = settings.provider_configs
        self._adapters: dict[str, ProviderAdapter] = {
            name: adapter_for(config) for name, config in self._configs.items()
        }

    async def call(self, request: ProviderCallRequested) -> RawResponse:
        config = self._configs.get(request.provider)
        if config is None:
            return self._failed(request, 0, "UnknownProvider",
                                f"provider {request.provider!r} is not configured here", None)
        adapter = self._adapters[request.provider]
        completion_request = CompletionRequest(
            model=request.model, prompt=request.prompt, sample=request.sample,
            max_tokens=self._settings.max_output_tokens,
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                key = self._keys.next(request.provider)
            except NoUsableKey as exc:
                return self._failed(request, attempt, type(exc).__name__, str(exc), None)
            started = time.perf_counter()
            try:
                completion = await adapter.complete(self._http, key, completion_request)
            except AuthenticationFailed as exc:
                self._keys.revoke(key, exc.message)
                if attempt < self._settings.provider_max_attempts:
                    continue
                return self._failed(request, attempt, type(exc).__name__, exc.message,
                                    key.fingerprint)
            except ProviderError as exc:
                if exc.retryable and attempt < self._settings.provider_max_attempts:
                    await asyncio.sleep(backoff_s(attempt, _provider_wait_s(exc)))
                    continue
                return self._failed(request, attempt, type(exc).__name__, exc.message,
                                    key.fingerprint)
            return RawResponse(
                call_id=request.call_id, run_id=request.run_id, domain=request.domain,
                provider=request.provider, model=request.model, prompt_id=request.prompt_id,
                prompt_version=request.prompt_version, sample=request.sample, status="ok",
                text=completion.text, model_version=completion.model_version,
                finish_reason=completion.finish_reason, input_tokens=completion.input_tokens,
                output_tokens=completion.output_tokens,
                cost_usd=config.cost_usd(completion.input_tokens, completion.output_tokens),
                latency_ms=(time.perf_counter() - started) * 1000, attempts=attempt,
                key_fingerprint=key.fingerprint, trace_id=current_trace_id(),
                responded_at=datetime.now(UTC),
            )

    @staticmethod
    def _failed(request: ProviderCallRequested, attempts: int, error_type: str, error: str,
                key_fingerprint: str | None) -> RawResponse:
        return RawResponse(
            call_id=request.call_id, run_id=request.run_id, domain=request.domain,
            provider=request.provider, model=request.model, prompt_id=request.prompt_id,
            prompt_version=request.prompt_version, sample=request.sample, status="failed",
            attempts=attempts, error_type=error_type, error=error,
            key_fingerprint=key_fingerprint, trace_id=current_trace_id(),
            responded_at=datetime.now(UTC),
        )
