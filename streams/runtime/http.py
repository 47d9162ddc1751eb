"""The one place the shared ``httpx.AsyncClient`` is created.

Every provider call goes through this client, so it is instrumented once here and every call
gets an OpenTelemetry HTTP client span. Redirects are not followed: a redirect would carry the
provider key (``x-api-key``, ``x-goog-api-key``) to wherever it points."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import httpx
from httpx_aiohttp import AiohttpTransport
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

USER_AGENT = "domain-runner/0.1"


def create_http_client(
    *,
    timeout_s: float,
    max_connections: int = 200,
    transport: httpx.AsyncBaseTransport | None = None,
    tracer_provider: TracerProvider | None = None,
    backend: Literal["httpcore", "aiohttp"] = "httpcore",
) -> httpx.AsyncClient:
    """A pooled, instrumented client; ``transport`` is for tests (``httpx.MockTransport``),
    ``tracer_provider`` defaults to the global one.

    ``backend="aiohttp"`` sends through aiohttp (httpx-aiohttp, the transport the OpenAI and
    Anthropic SDKs offer for the same reason): httpcore's pool costs ~20 ms of CPU per request
    at provider-calls' concurrency, aiohttp ~2 ms, which decides whether a process keeps up
    with the providers' limits.

    ``timeout_s`` bounds every phase (connect, write, pool wait, and each read); connecting is
    additionally capped at 10 s so a dead host fails fast."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
    )
    if transport is None and backend == "aiohttp":
        transport = AiohttpTransport(limits=limits, trust_env=False)
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        limits=limits,
        transport=transport,
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
    )
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=tracer_provider)
    return client
