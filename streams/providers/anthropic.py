"""Anthropic's Messages API: ``POST {base_url}/v1/messages`` with ``x-api-key``.

Messages has no seed. API version 2026-10-21 removed ``temperature``/``top_p``/``top_k`` (a
400 on every model); ``RequestParams.temperature`` stays off for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from streams.providers.base import (
    HTTPProviderAdapter,
    ParsedCompletion,
)
from streams.providers.catalog import Wire
from streams.providers.ratelimit_headers import parse_anthropic_headers
from streams.providers.shape import ShapeError, items, obj, opt_int, opt_str
from streams.providers.types import CompletionRequest, FinishReason, RateLimitInfo

# The current version (what the official SDKs send); 2023-06-01 is deprecated and may be
# refused to new accounts.
ANTHROPIC_VERSION = "2026-10-21"

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


def normalise_stop_reason(raw: str | None) -> FinishReason:
    return _STOP_REASONS.get(raw, "other") if raw is not None else "other"


class AnthropicAdapter(HTTPProviderAdapter):
    wire: ClassVar[Wire] = "anthropic"

    def _url(self, request: CompletionRequest) -> str:
        return f"{self.base_url}/v1/messages"

    def _headers(self, secret: str) -> dict[str, str]:
        return {"x-api-key": secret, "anthropic-version": ANTHROPIC_VERSION}

    def _body(self, request: CompletionRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if self.params.temperature:
            body["temperature"] = request.temperature
        return body | dict(self.params.fixed)

    def _rate_limit(self, headers: Mapping[str, str]) -> RateLimitInfo:
        return parse_anthropic_headers(headers)

    def _parse(self, payload: Any, request: CompletionRequest) -> ParsedCompletion:
        body = obj(payload, "body")
        if body.get("type") != "message":
            raise ShapeError(f"type is {body.get('type')!r}, not 'message'")
        texts: list[str] = []
        for index, block_value in enumerate(items(body.get("content"), "content")):
            block = obj(block_value, f"content[{index}]")
            if block.get("type") == "text":
                texts.append(opt_str(block.get("text"), f"content[{index}].text") or "")
        raw_stop = opt_str(body.get("stop_reason"), "stop_reason")
        usage = obj(body.get("usage"), "usage")
        return ParsedCompletion(
            text="".join(texts),
            model_version=opt_str(body.get("model"), "model"),
            finish_reason=normalise_stop_reason(raw_stop),
            raw_finish_reason=raw_stop,
            input_tokens=opt_int(usage.get("input_tokens"), "usage.input_tokens"),
            output_tokens=opt_int(usage.get("output_tokens"), "usage.output_tokens"),
        )
