"""Provider adapters: each provider's real HTTP API over one shared ``httpx.AsyncClient``.

    client = create_http_client(timeout_s=settings.http.timeout_s)   # streams.http
    adapter = adapter_for(settings.provider_configs["openai"])
    completion = await adapter.complete(client, key, CompletionRequest(...))

Failures are always :class:`ProviderError` subclasses; ``exc.retryable`` says whether to retry.
"""

from streams.providers.anthropic import AnthropicAdapter
from streams.providers.base import HTTPProviderAdapter, ProviderAdapter
from streams.providers.catalog import PROVIDERS, ProviderSpec, RequestParams
from streams.providers.errors import (
    AuthenticationFailed,
    MalformedResponse,
    PermanentProviderError,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    TransientProviderError,
    redact,
)
from streams.providers.gemini import GeminiAdapter
from streams.providers.openai_compatible import OpenAICompatibleAdapter
from streams.providers.ratelimit_headers import (
    parse_anthropic_headers,
    parse_duration,
    parse_gemini_headers,
    parse_openai_headers,
    parse_retry_after,
    parse_rfc3339,
)
from streams.providers.registry import adapter_for
from streams.providers.types import (
    RUN_HEADER,
    SAMPLE_HEADER,
    Completion,
    CompletionRequest,
    FinishReason,
    ProviderConfig,
    ProviderKey,
    RateLimitInfo,
)

__all__ = [
    "PROVIDERS",
    "RUN_HEADER",
    "SAMPLE_HEADER",
    "AnthropicAdapter",
    "AuthenticationFailed",
    "Completion",
    "CompletionRequest",
    "FinishReason",
    "GeminiAdapter",
    "HTTPProviderAdapter",
    "MalformedResponse",
    "OpenAICompatibleAdapter",
    "PermanentProviderError",
    "ProviderAdapter",
    "ProviderConfig",
    "ProviderError",
    "ProviderKey",
    "ProviderSpec",
    "QuotaExhausted",
    "RateLimitInfo",
    "RateLimited",
    "RequestParams",
    "TransientProviderError",
    "adapter_for",
    "parse_anthropic_headers",
    "parse_duration",
    "parse_gemini_headers",
    "parse_openai_headers",
    "parse_retry_after",
    "parse_rfc3339",
    "redact",
]
