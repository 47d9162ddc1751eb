"""OpenAI's Chat Completions wire format, spoken by openai, deepseek, together, xai, perplexity
and mistral: ``POST {base_url}/chat/completions`` with ``Authorization: Bearer``.

The body is the same shape for all six, but each provider names its parameters its own way
(``RequestParams`` in the catalog): Mistral's seed is ``random_seed``, DeepSeek and Perplexity
have none, OpenAI's and xAI's reasoning models take ``max_completion_tokens``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from streams.providers.base import (
    HTTPProviderAdapter,
    ParsedCompletion,
)
from streams.providers.catalog import Wire
from streams.providers.ratelimit_headers import parse_openai_headers
from streams.providers.shape import ShapeError, items, obj, opt_int, opt_str
from streams.providers.types import CompletionRequest, FinishReason, RateLimitInfo

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "eos": "stop",  # Together (older models)
    "length": "length",
    "model_length": "length",  # Mistral: the context window, not max_tokens, ran out
    "content_filter": "content_filter",
}


def normalise_finish_reason(raw: str | None) -> FinishReason:
    return _FINISH_REASONS.get(raw, "other") if raw is not None else "other"


class OpenAICompatibleAdapter(HTTPProviderAdapter):
    wire: ClassVar[Wire] = "openai"

    def _url(self, request: CompletionRequest) -> str:
        return f"{self.base_url}/chat/completions"

    def _headers(self, secret: str) -> dict[str, str]:
        return {"authorization": f"Bearer {secret}"}

    def _body(self, request: CompletionRequest) -> dict[str, Any]:
        params = self.params
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": "user", "content": request.prompt}],
            params.max_tokens: request.max_tokens,
        }
        if params.temperature:
            body["temperature"] = request.temperature
        if params.seed is not None:
            body[params.seed] = request.sample
        return body | dict(params.fixed)

    def _rate_limit(self, headers: Mapping[str, str]) -> RateLimitInfo:
        return parse_openai_headers(headers)

    def _parse(self, payload: Any, request: CompletionRequest) -> ParsedCompletion:
        body = obj(payload, "body")
        choices = items(body.get("choices"), "choices")
        if not choices:
            raise ShapeError("choices is empty")
        choice = obj(choices[0], "choices[0]")
        message = obj(choice.get("message"), "choices[0].message")
        # content is null for refusals and tool calls; that is an empty answer, not a bad body.
        text = opt_str(message.get("content"), "choices[0].message.content") or ""
        raw_finish = opt_str(choice.get("finish_reason"), "choices[0].finish_reason")
        usage_value = body.get("usage")
        usage = obj(usage_value, "usage") if usage_value is not None else {}
        return ParsedCompletion(
            text=text,
            model_version=opt_str(body.get("model"), "model"),
            finish_reason=normalise_finish_reason(raw_finish),
            raw_finish_reason=raw_finish,
            input_tokens=opt_int(usage.get("prompt_tokens"), "usage.prompt_tokens"),
            output_tokens=opt_int(usage.get("completion_tokens"), "usage.completion_tokens"),
        )
