"""The three wire formats against ``httpx.MockTransport`` with provider-shaped bodies."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, ClassVar

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from streams.providers import (
    RUN_HEADER,
    SAMPLE_HEADER,
    AnthropicAdapter,
    AuthenticationFailed,
    Completion,
    CompletionRequest,
    GeminiAdapter,
    MalformedResponse,
    OpenAICompatibleAdapter,
    PermanentProviderError,
    ProviderAdapter,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    RateLimitInfo,
    TransientProviderError,
    adapter_for,
    parse_anthropic_headers,
    parse_duration,
    parse_openai_headers,
    parse_retry_after,
    parse_rfc3339,
    redact,
)
from streams.providers.catalog import PROVIDERS
from streams.providers.types import ProviderConfig, ProviderKey
from streams.runtime.http import create_http_client

Handler = Callable[[httpx.Request], httpx.Response]

REQUEST = CompletionRequest(
    model="the-model", prompt="What do you know about Acme (acme.com)?", sample=3, max_tokens=64,
    temperature=0.2,
)


def config_for(provider: str) -> ProviderConfig:
    spec = PROVIDERS[provider]
    return ProviderConfig(
        spec=spec, base_url=spec.base_url, model=spec.model,
        keys=(key_for(provider),), input_price_per_mtok=spec.input_price_per_mtok,
        output_price_per_mtok=spec.output_price_per_mtok, rpm=600, tpm=400_000,
    )


SECRETS = {
    "openai": "sk-proj-Zq7TESTONLY4h9Xk2LmN8pQrStUvWxYz0123456789abcd",
    "anthropic": "sk-ant-api03-TESTONLY-q9Wm3xR7vK2pL8nB4cZ6yH1jF5dG0sA",
    "google": "AIzaSyTESTONLY-9x8w7v6u5t4s3r2q1p0onml",
    "deepseek": "sk-4f1e2d3cTESTONLY9b8a7f6e5d4c3b2a1",
}


def key_for(provider: str) -> ProviderKey:
    secret = SECRETS.get(provider, f"{provider}-TESTONLY-key-0123456789abcdef")
    return ProviderKey(provider=provider, index=1, secret=SecretStr(secret))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


async def complete(
    provider: str, handler: Handler, request: CompletionRequest = REQUEST
) -> Completion:
    async with create_http_client(timeout_s=5, transport=httpx.MockTransport(handler)) as client:
        return await adapter_for(config_for(provider)).complete(client, key_for(provider), request)


async def fail(provider: str, handler: Handler) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await complete(provider, handler)
    return info.value


def responding(status: int, body: Any, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: json_response(status, body, headers)


# -- provider-shaped bodies (from the public API references) ---------------------------------


def openai_success(content: str | None = "Acme makes anvils.", finish: str = "stop") -> Any:
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": None,
                        "annotations": []},
            "logprobs": None,
            "finish_reason": finish,
        }],
        "usage": {
            "prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
    }


def openai_error(message: str, kind: str, code: str | None = None) -> Any:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def anthropic_success(stop_reason: str = "end_turn") -> Any:
    return {
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [
            {"type": "text", "text": "Acme makes "},
            {"type": "tool_use", "id": "toolu_01", "name": "noop", "input": {}},
            {"type": "text", "text": "anvils."},
        ],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 2095, "output_tokens": 503,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }


def anthropic_error(kind: str, message: str) -> Any:
    return {"type": "error", "error": {"type": kind, "message": message},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}


def gemini_success(finish: str = "STOP") -> Any:
    return {
        "candidates": [{
            "content": {"parts": [{"text": "Acme makes "}, {"text": "anvils."}], "role": "model"},
            "finishReason": finish,
            "avgLogprobs": -0.0815,
            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT",
                               "probability": "NEGLIGIBLE"}],
        }],
        "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 12, "totalTokenCount": 20,
                          "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]},
        "modelVersion": "gemini-1.5-flash-002",
        "responseId": "Xg3KZ8y4JcLR1MkPyKe-6Qc",
    }


def google_error(code: int, status: str, message: str, details: list[Any] | None = None) -> Any:
    return {"error": {"code": code, "message": message, "status": status,
                      **({"details": details} if details else {})}}


# -- request building ------------------------------------------------------------------------


async def test_openai_request_is_chat_completions_with_bearer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, openai_success())

    await complete("openai", handler)
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRETS['openai']}"
    assert "x-api-key" not in request.headers
    assert request.headers[SAMPLE_HEADER] == "3"
    # A reasoning model: max_completion_tokens, no temperature, no seed, reasoning off.
    assert json.loads(request.content) == {
        "model": "the-model",
        "messages": [{"role": "user", "content": REQUEST.prompt}],
        "max_completion_tokens": 64,
        "reasoning_effort": "none",
    }


MESSAGES = [{"role": "user", "content": REQUEST.prompt}]


# Each provider's own parameter names (from its API reference), written out rather than read
# from the catalog, so a change there has to be made twice on purpose.
@pytest.mark.parametrize(
    ("provider", "url", "body"),
    [
        ("deepseek", "https://api.deepseek.com/chat/completions",
         {"max_tokens": 64, "temperature": 0.2, "thinking": {"type": "disabled"}}),
        ("together", "https://api.together.xyz/v1/chat/completions",
         {"max_tokens": 64, "temperature": 0.2, "seed": 3}),
        ("xai", "https://api.x.ai/v1/chat/completions",
         {"max_completion_tokens": 64, "temperature": 0.2, "seed": 3,
          "reasoning_effort": "none"}),
        # Sonar searches unless told not to: a memory call turns its search off.
        ("perplexity", "https://api.perplexity.ai/chat/completions",
         {"max_tokens": 64, "temperature": 0.2, "disable_search": True}),
        ("mistral", "https://api.mistral.ai/v1/chat/completions",
         {"max_tokens": 64, "temperature": 0.2, "random_seed": 3}),
    ],
)
async def test_openai_compatibles_post_their_own_parameters(
    provider: str, url: str, body: dict[str, Any]
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, openai_success())

    await complete(provider, handler)
    assert str(seen[0].url) == url
    secret = key_for(provider).secret.get_secret_value()
    assert seen[0].headers["authorization"] == f"Bearer {secret}"
    assert seen[0].headers[SAMPLE_HEADER] == "3"
    assert json.loads(seen[0].content) == {"model": "the-model", "messages": MESSAGES, **body}


async def test_anthropic_request_is_messages_with_api_key_and_version() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, anthropic_success())

    await complete("anthropic", handler)
    (request,) = seen
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == SECRETS["anthropic"]
    assert request.headers["anthropic-version"] == "2026-10-21"
    assert "authorization" not in request.headers
    assert request.headers[SAMPLE_HEADER] == "3"
    # No seed in Messages, and version 2026-10-21 takes no temperature.
    assert json.loads(request.content) == {
        "model": "the-model",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": REQUEST.prompt}],
    }


async def test_gemini_request_is_generate_content_with_goog_api_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, gemini_success())

    await complete("google", handler, replace(REQUEST, model="gemini-3.5-flash-lite"))
    (request,) = seen
    assert str(request.url) == (
        "https://generativelanguage.googleapis.com/v1beta/models/"
        "gemini-3.5-flash-lite:generateContent"
    )
    assert request.url.query == b""  # the key never goes into the URL
    assert request.headers["x-goog-api-key"] == SECRETS["google"]
    assert json.loads(request.content) == {
        "contents": [{"role": "user", "parts": [{"text": REQUEST.prompt}]}],
        "generationConfig": {"maxOutputTokens": 64, "temperature": 0.2, "seed": 3},
    }


# -- the contract every wire format keeps ---------------------------------------------------

Case = tuple[str, int, Any]  # (provider, status, body)
TRANSPORT_ERRORS = [httpx.ReadTimeout("timed out"), httpx.ConnectTimeout("timed out"),
                    httpx.ConnectError("[Errno 111] Connection refused"),
                    httpx.RemoteProtocolError("EOF")]


def _masked(secret: str) -> str:
    """How OpenAI echoes a wrong key: first 8 and last 4 characters."""
    return f"{secret[:8]}{'*' * 20}{secret[-4:]}"


class WireContract:
    """What every wire format must do, written once (after FastStream's shared broker tests):
    a subclass per format supplies provider-shaped bodies from that API's reference, and each
    case names the provider it is sent to (several speak the OpenAI format)."""

    wire: ClassVar[str]
    provider: ClassVar[str]
    # success(): (text, model_version, finish_reason, raw_finish_reason, input, output tokens)
    parsed: ClassVar[tuple[str, str, str, str, int, int]]
    finish_reasons: ClassVar[tuple[tuple[str, str], ...]]  # (raw, normalised)
    # (body, headers, retry_after_s, start of the message)
    rate_limited: ClassVar[tuple[Any, dict[str, str], float, str]]
    auth_errors: ClassVar[tuple[Case, ...]]
    transient_errors: ClassVar[tuple[Case, ...]]
    permanent_errors: ClassVar[tuple[Case, ...]]
    malformed: ClassVar[tuple[tuple[str, Any], ...]]
    echoing: ClassVar[tuple[tuple[int, Callable[[str], Any]], ...]]  # bodies quoting the key

    def success(self, finish: str | None = None) -> Any:
        raise NotImplementedError

    def test_cases_are_of_this_wire(self) -> None:
        providers = [self.provider] + [case[0] for case in (
            *self.auth_errors, *self.transient_errors, *self.permanent_errors, *self.malformed)]
        assert {PROVIDERS[p].wire for p in providers} == {self.wire}

    async def test_success_is_parsed(self) -> None:
        completion = await complete(self.provider, responding(200, self.success()))
        assert (completion.text, completion.model_version, completion.finish_reason,
                completion.raw_finish_reason, completion.input_tokens,
                completion.output_tokens) == self.parsed
        assert completion.status_code == 200

    async def test_finish_reasons_are_normalised(self) -> None:
        for raw, normalised in self.finish_reasons:
            completion = await complete(self.provider, responding(200, self.success(raw)))
            assert (completion.finish_reason, completion.raw_finish_reason) == (normalised, raw)

    async def test_sample_and_run_go_in_headers_real_apis_ignore(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return json_response(200, self.success())

        await complete(self.provider, handler, replace(REQUEST, run_id="run-7"))
        assert (seen[0].headers[SAMPLE_HEADER], seen[0].headers[RUN_HEADER]) == ("3", "run-7")

    async def test_429_is_rate_limited_with_its_wait(self) -> None:
        body, headers, retry_after_s, message = self.rate_limited
        exc = await fail(self.provider, responding(429, body, headers))
        assert isinstance(exc, RateLimited) and exc.retryable
        assert (exc.retry_after_s, exc.status_code) == (retry_after_s, 429)
        assert exc.message.startswith(message), exc.message

    async def test_auth_failures_take_the_key_out(self) -> None:
        for provider, status, body in self.auth_errors:
            exc = await fail(provider, responding(status, body))
            assert type(exc) is AuthenticationFailed, (status, body)
            assert not exc.retryable and exc.status_code == status

    async def test_transient_failures_are_retried(self) -> None:
        for provider, status, body in self.transient_errors:
            exc = await fail(provider, responding(status, body))
            assert type(exc) is TransientProviderError, (status, body)
            assert exc.retryable and exc.status_code == status

    async def test_permanent_failures_are_not(self) -> None:
        for provider, status, body in self.permanent_errors:
            exc = await fail(provider, responding(status, body))
            assert type(exc) is PermanentProviderError, (status, body)
            assert not exc.retryable and exc.status_code == status
            assert len(exc.message) > 10

    async def test_malformed_success_bodies(self) -> None:
        for provider, body in self.malformed:
            exc = await fail(provider, responding(200, body))
            assert type(exc) is MalformedResponse, body
            assert not exc.retryable and exc.status_code == 200

    async def test_non_json_200_is_malformed(self) -> None:
        exc = await fail(self.provider,
                         lambda request: httpx.Response(200, text="<html>portal</html>"))
        assert type(exc) is MalformedResponse

    @pytest.mark.parametrize("error", TRANSPORT_ERRORS, ids=lambda e: type(e).__name__)
    async def test_timeouts_and_transport_errors_are_transient(
        self, error: httpx.RequestError
    ) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise error

        exc = await fail(self.provider, handler)
        assert type(exc) is TransientProviderError and exc.retryable
        assert exc.status_code is None
        assert type(error).__name__ in exc.message

    async def test_key_never_appears_in_exceptions_even_when_echoed(self) -> None:
        secret = key_for(self.provider).secret.get_secret_value()
        for status, body in self.echoing:
            exc = await fail(self.provider, responding(status, body(secret)))
            for rendering in (str(exc), repr(exc), exc.message, *map(str, exc.args)):
                assert secret not in rendering
                assert secret[-12:] not in rendering
                assert _masked(secret) not in rendering
            assert "[REDACTED]" in exc.message


class TestOpenAIWire(WireContract):
    wire = "openai"
    provider = "openai"
    parsed = ("Acme makes anvils.", "gpt-4o-mini-2024-07-18", "stop", "stop", 19, 10)
    finish_reasons = (("length", "length"), ("model_length", "length"),
                      ("content_filter", "content_filter"), ("tool_calls", "other"),)
    rate_limited = (
        openai_error("Rate limit reached for gpt-4o-mini in organization org-abc on requests "
                     "per min (RPM): Limit 500, Used 500, Requested 1.", "requests",
                     "rate_limit_exceeded"),
        {"retry-after": "20", "x-ratelimit-remaining-requests": "0",
         "x-ratelimit-reset-requests": "20s"}, 20.0, "requests: Rate limit reached")
    auth_errors = (("openai", 401, openai_error("Incorrect API key provided: sk-proj-****abcd.",
                                                "invalid_request_error", "invalid_api_key")),)
    transient_errors = (
        ("openai", 500, openai_error("The server had an error while processing your request.",
                                     "server_error")),
        ("openai", 503, openai_error("The engine is currently overloaded, please try again "
                                     "later", "server_error")),
        ("perplexity", 408, {"detail": "Request Timeout"}),
    )
    permanent_errors = (
        ("openai", 400, openai_error("Invalid value for 'temperature': must be <= 2.",
                                     "invalid_request_error", "invalid_value")),
        ("openai", 404, openai_error("The model `gpt-9` does not exist or you do not have "
                                     "access to it.", "invalid_request_error",
                                     "model_not_found")),
        ("mistral", 422, {"object": "error", "message": "Input should be a valid integer",
                          "type": "invalid_request_error", "param": None, "code": None}),
    )
    malformed = (
        ("openai", {"id": "chatcmpl-1", "object": "chat.completion", "choices": []}),
        ("openai", {"choices": [{"index": 0, "finish_reason": "stop"}]}),
        ("deepseek", {"choices": [{"message": {"content": 42}}]}),
        ("openai", {**openai_success(), "usage": {"prompt_tokens": "19"}}),
    )
    echoing = (
        (401, lambda secret: openai_error(
            f"Incorrect API key provided: {_masked(secret)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.", "invalid_request_error",
            "invalid_api_key")),
        (400, lambda secret: openai_error(f"Bad header 'Authorization: Bearer {secret}'",
                                          "invalid_request_error")),
    )

    def success(self, finish: str | None = None) -> Any:
        return openai_success(finish=finish or "stop")

    async def test_rate_limit_headers_ride_with_the_429(self) -> None:
        body, headers, _, _ = self.rate_limited
        exc = await fail(self.provider, responding(429, body, headers))
        assert exc.rate_limit is not None and exc.rate_limit.remaining_requests == 0


class TestAnthropicWire(WireContract):
    wire = "anthropic"
    provider = "anthropic"
    parsed = ("Acme makes anvils.", "claude-3-5-haiku-20241022", "stop", "end_turn", 2095, 503)
    finish_reasons = (("max_tokens", "length"), ("stop_sequence", "stop"),
                      ("refusal", "content_filter"), ("tool_use", "other"),)
    rate_limited = (
        anthropic_error("rate_limit_error", "Number of request tokens has exceeded your "
                        "per-minute rate limit"),
        {"retry-after": "12"}, 12.0, "rate_limit_error: Number of request tokens")
    auth_errors = (
        ("anthropic", 401, anthropic_error("authentication_error", "invalid x-api-key")),
        ("anthropic", 403, anthropic_error("permission_error", "Your API key does not have "
                                           "permission to use the specified resource.")),
    )
    transient_errors = (
        ("anthropic", 500, anthropic_error("api_error", "Internal server error")),
        ("anthropic", 529, anthropic_error("overloaded_error", "Overloaded")),
    )
    permanent_errors = (
        ("anthropic", 400, anthropic_error("invalid_request_error",
                                           "max_tokens: Field required")),
        ("anthropic", 413, anthropic_error("request_too_large",
                                           "Request exceeds the maximum size")),
    )
    malformed = (
        ("anthropic", {"type": "message", "content": "hi", "usage": {}}),
        # No usage:
        ("anthropic", {"type": "message", "content": [], "stop_reason": "end_turn"}),
    )
    echoing = ((401, lambda secret: anthropic_error("authentication_error",
                                                    f"invalid x-api-key {secret}")),)

    def success(self, finish: str | None = None) -> Any:
        return anthropic_success(finish or "end_turn")


class TestGeminiWire(WireContract):
    wire = "gemini"
    provider = "google"
    parsed = ("Acme makes anvils.", "gemini-1.5-flash-002", "stop", "STOP", 8, 12)
    finish_reasons = (("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
                      ("RECITATION", "content_filter"), ("OTHER", "other"),)
    rate_limited = (
        google_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaMetric": "generativelanguage.googleapis.com/"
                             "generate_content_free_tier_requests",
                             "quotaId": "GenerateRequestsPerMinute"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "43s"},
        ]), {}, 43.0, "RESOURCE_EXHAUSTED: You exceeded")
    auth_errors = (
        ("google", 400, google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass "
                                     "a valid API key.", [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com",
             "metadata": {"service": "generativelanguage.googleapis.com"}},
        ])),
        ("google", 403, google_error(403, "PERMISSION_DENIED", "Method doesn't allow "
                                     "unregistered callers.")),
    )
    transient_errors = (
        ("google", 500, google_error(500, "INTERNAL", "An internal error has occurred.")),
        ("google", 503, google_error(503, "UNAVAILABLE", "The model is overloaded. "
                                     "Please try again later.")),
    )
    permanent_errors = (
        ("google", 400, google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")),
        ("google", 404, google_error(404, "NOT_FOUND", "models/gemini-9 is not found for API "
                                     "version v1beta.")),
    )
    malformed = (
        ("google", {}),
        ("google", {"candidates": [{"content": {"parts": "hi"}}]}),
        ("google", {"candidates": [{}]}),
        ("google", ["not", "an", "object"]),
    )
    echoing = (
        (400, lambda secret: google_error(400, "INVALID_ARGUMENT", f"API key {secret} not valid.",
                                          [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                            "reason": "API_KEY_INVALID"}])),
        (500, lambda secret: google_error(500, "INTERNAL", f"key={secret}&alt=json failed")),
    )

    def success(self, finish: str | None = None) -> Any:
        return gemini_success(finish or "STOP")

    async def test_rate_limit_from_the_body_is_the_key_view(self) -> None:
        body, headers, retry_after_s, _ = self.rate_limited
        exc = await fail(self.provider, responding(429, body, headers))
        assert exc.rate_limit is not None and exc.rate_limit.retry_after_s == retry_after_s


# -- what only one wire format does ----------------------------------------------------------


async def test_gemini_model_version_falls_back_to_requested_model() -> None:
    body = gemini_success()
    del body["modelVersion"]
    completion = await complete("google", responding(200, body))
    assert completion.model_version == "the-model"


async def test_gemini_blocked_prompt_is_empty_content_filtered_completion() -> None:
    body = {
        "promptFeedback": {
            "blockReason": "SAFETY",
            "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                               "probability": "HIGH", "blocked": True}],
        },
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
        "modelVersion": "gemini-1.5-flash-002",
    }
    completion = await complete("google", responding(200, body))
    assert completion.text == ""
    assert (completion.finish_reason, completion.raw_finish_reason) == ("content_filter", "SAFETY")
    assert (completion.input_tokens, completion.output_tokens) == (8, 0)


async def test_gemini_safety_stop_without_content() -> None:
    body = {
        "candidates": [{"finishReason": "SAFETY", "index": 0,
                        "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT",
                                           "probability": "HIGH", "blocked": True}]}],
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
        "modelVersion": "gemini-1.5-flash-002",
    }
    completion = await complete("google", responding(200, body))
    assert (completion.text, completion.finish_reason) == ("", "content_filter")


async def test_gemini_thoughts_are_not_text_but_are_billed() -> None:
    body = gemini_success()
    body["candidates"][0]["content"]["parts"].insert(0, {"text": "Hmm...", "thought": True})
    body["usageMetadata"]["thoughtsTokenCount"] = 30
    completion = await complete("google", responding(200, body))
    assert completion.text == "Acme makes anvils."
    assert completion.output_tokens == 42


async def test_openai_null_content_is_empty_text() -> None:
    completion = await complete(
        "openai", responding(200, openai_success(content=None, finish="content_filter"))
    )
    assert completion.text == ""
    assert completion.finish_reason == "content_filter"


async def test_429_without_retry_after_waits_for_exhausted_window() -> None:
    headers = {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1m30s",
               "x-ratelimit-remaining-requests": "10", "x-ratelimit-reset-requests": "2h"}
    exc = await fail("xai", responding(429, openai_error("slow down", "tokens"), headers))
    assert isinstance(exc, RateLimited)
    assert exc.retry_after_s == 90.0


@pytest.mark.parametrize(
    ("provider", "status", "body"),
    [
        ("openai", 429, openai_error("You exceeded your current quota, please check your plan "
                                     "and billing details.", "insufficient_quota",
                                     "insufficient_quota")),
        ("deepseek", 402, openai_error("Insufficient Balance", "unknown_error",
                                       "invalid_request_error")),
    ],
)
async def test_out_of_credit_leaves_rotation(provider: str, status: int, body: Any) -> None:
    exc = await fail(provider, responding(status, body))
    assert isinstance(exc, QuotaExhausted) and isinstance(exc, AuthenticationFailed)
    assert not exc.retryable


async def test_non_json_gateway_error_is_transient_with_body_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html><body>502 Bad Gateway</body></html>")

    exc = await fail("together", handler)
    assert type(exc) is TransientProviderError
    assert "502 Bad Gateway" in exc.message


async def test_x_should_retry_makes_a_4xx_transient() -> None:
    body = anthropic_error("invalid_request_error", "try again")
    exc = await fail("anthropic", responding(400, body, {"x-should-retry": "true"}))
    assert type(exc) is TransientProviderError


async def test_error_message_is_truncated() -> None:
    exc = await fail("openai", responding(400, openai_error("x" * 5000, "invalid_request_error")))
    assert len(exc.message) <= 500


async def test_key_not_in_transport_error_messages() -> None:
    secret = SECRETS["openai"]

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy rejected Authorization: Bearer {secret}")

    exc = await fail("openai", handler)
    assert secret not in str(exc) and secret not in repr(exc)
    assert exc.__cause__ is None and exc.__suppress_context__  # tracebacks can't leak it either


# -- rate-limit headers ----------------------------------------------------------------------


async def test_openai_rate_limit_headers_parsed() -> None:
    headers = {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-tokens": "199946",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    completion = await complete("openai", responding(200, openai_success(), headers))
    assert completion.rate_limit == RateLimitInfo(
        limit_requests=500, remaining_requests=499, reset_requests_s=0.12,
        limit_tokens=200_000, remaining_tokens=199_946, reset_tokens_s=360.0,
    )


async def test_anthropic_rate_limit_headers_parsed() -> None:
    now = datetime.now(UTC)

    def stamp(seconds: int) -> str:
        return (now + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": stamp(1),
        "anthropic-ratelimit-tokens-limit": "90000",
        "anthropic-ratelimit-tokens-remaining": "88000",
        "anthropic-ratelimit-tokens-reset": stamp(30),
        "anthropic-ratelimit-input-tokens-limit": "40000",
        "anthropic-ratelimit-input-tokens-remaining": "39000",
        "anthropic-ratelimit-input-tokens-reset": stamp(10),
    }
    info = (await complete("anthropic", responding(200, anthropic_success(), headers))).rate_limit
    assert (info.limit_requests, info.remaining_requests) == (50, 49)
    assert (info.limit_tokens, info.remaining_tokens) == (90_000, 88_000)  # tokens preferred
    assert info.reset_requests_s == pytest.approx(1, abs=1)
    assert info.reset_tokens_s == pytest.approx(30, abs=1)
    assert info.retry_after_s is None


def test_anthropic_input_token_family_used_when_tokens_absent() -> None:
    now = time.time()
    reset = datetime.fromtimestamp(now + 12, UTC).isoformat()
    info = parse_anthropic_headers(
        {
            "anthropic-ratelimit-input-tokens-limit": "40000",
            "anthropic-ratelimit-input-tokens-remaining": "0",
            "anthropic-ratelimit-input-tokens-reset": reset,
            "anthropic-ratelimit-output-tokens-limit": "8000",
        },
        now=now,
    )
    assert (info.limit_tokens, info.remaining_tokens) == (40_000, 0)
    assert info.reset_tokens_s == pytest.approx(12)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("120ms", 0.12), ("1h2m3.5s", 3723.5), ("0s", 0.0),
     ("17.5", 17.5), ("2m", 120.0), ("", None), ("soon", None), ("-1s", None), ("1x", None)],
)
def test_parse_duration(value: str, seconds: float | None) -> None:
    assert parse_duration(value) == (pytest.approx(seconds) if seconds is not None else None)


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = time.time()
    date = format_datetime(datetime.fromtimestamp(int(now) + 20, UTC), usegmt=True)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(date, now=now) == pytest.approx(20, abs=1)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0  # past: now
    assert parse_retry_after("whenever", now=now) is None


def test_retry_after_ms_preferred_and_garbage_ignored() -> None:
    info = parse_openai_headers({"retry-after-ms": "1500", "retry-after": "2",
                                 "x-ratelimit-limit-requests": "lots"})
    assert info.retry_after_s == 1.5
    assert info.limit_requests is None


def test_parse_rfc3339() -> None:
    assert parse_rfc3339("2024-05-01T12:00:30Z", now=datetime(2024, 5, 1, 12, tzinfo=UTC)
                         .timestamp()) == 30.0
    assert parse_rfc3339("2024-05-01T12:00:30", now=0) is None  # no zone: unknowable
    assert parse_rfc3339("not a time") is None


# -- secrets and the client ------------------------------------------------------------------


def test_redact_leaves_ordinary_text_alone() -> None:
    secret = SecretStr("sk-abcdefghijklmnop")
    assert redact("Please try again in 120ms.", [secret]) == "Please try again in 120ms."
    assert redact("key sk-abcdefghijklmnop!", [secret]) == "key [REDACTED]!"
    assert redact("key sk-abc***mnop", [secret]) == "key [REDACTED]"


async def test_a_key_of_another_provider_is_never_sent() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return json_response(200, openai_success())

    async with create_http_client(timeout_s=5, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ValueError) as info:
            await adapter_for(config_for("deepseek")).complete(client, key_for("openai"), REQUEST)
    assert not sent
    assert SECRETS["openai"] not in str(info.value)


# -- catalogue, client -----------------------------------------------------------------------


def test_every_catalog_provider_gets_an_adapter() -> None:
    expected = {"openai": OpenAICompatibleAdapter, "anthropic": AnthropicAdapter,
                "gemini": GeminiAdapter}
    assert len(PROVIDERS) == 8
    for name, spec in PROVIDERS.items():
        adapter = adapter_for(config_for(name))
        assert isinstance(adapter, ProviderAdapter)
        assert type(adapter) is expected[spec.wire]
        assert (adapter.name, adapter.base_url) == (name, spec.base_url.rstrip("/"))
        assert SECRETS.get(name, "TESTONLY") not in repr(adapter)


async def test_shared_client_emits_an_http_span_per_call_without_the_key() -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    transport = httpx.MockTransport(lambda request: json_response(200, gemini_success()))
    async with create_http_client(
        timeout_s=5, transport=transport, tracer_provider=tracer_provider
    ) as client:
        assert client.timeout.read == 5
        await adapter_for(config_for("google")).complete(client, key_for("google"), REQUEST)
    (span,) = exporter.get_finished_spans()
    assert span.name == "POST"
    attributes = {k: str(v) for k, v in (span.attributes or {}).items()}
    assert any("generateContent" in value for value in attributes.values())
    assert all(SECRETS["google"] not in value for value in attributes.values())
