"""Google's Gemini API: ``POST {base_url}/v1beta/models/{model}:generateContent`` with
``x-goog-api-key`` (never the ``?key=`` query parameter, which would end up in URLs and spans)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import httpx

from streams.providers.base import (
    HTTPProviderAdapter,
    ParsedCompletion,
    error_message,
)
from streams.providers.catalog import Wire
from streams.providers.errors import AuthenticationFailed, ProviderError, error_for_status
from streams.providers.ratelimit_headers import parse_duration, parse_gemini_headers
from streams.providers.shape import ShapeError, items, obj, opt_int, opt_str
from streams.providers.types import CompletionRequest, FinishReason, RateLimitInfo

if TYPE_CHECKING:
    from streams.providers.types import ProviderKey

_FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


def normalise_finish_reason(raw: str | None) -> FinishReason:
    return _FINISH_REASONS.get(raw, "other") if raw is not None else "other"


def _google_error(payload: Any) -> dict[str, Any]:
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


def _details(error: dict[str, Any]) -> list[dict[str, Any]]:
    details = error.get("details")
    if not isinstance(details, list):
        return []
    return [detail for detail in details if isinstance(detail, dict)]


class GeminiAdapter(HTTPProviderAdapter):
    wire: ClassVar[Wire] = "gemini"

    def _url(self, request: CompletionRequest) -> str:
        model = request.model.removeprefix("models/")
        return f"{self.base_url}/v1beta/models/{quote(model, safe='-._~')}:generateContent"

    def _headers(self, secret: str) -> dict[str, str]:
        return {"x-goog-api-key": secret}

    def _body(self, request: CompletionRequest) -> dict[str, Any]:
        # Gemini's knobs live in generationConfig under fixed names; params only switch them.
        config: dict[str, Any] = {"maxOutputTokens": request.max_tokens}
        if self.params.temperature:
            config["temperature"] = request.temperature
        if self.params.seed is not None:
            config["seed"] = request.sample
        return {
            "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
            "generationConfig": config | dict(self.params.fixed),
        }

    def _rate_limit(self, headers: Mapping[str, str]) -> RateLimitInfo:
        return parse_gemini_headers(headers)

    def _error(
        self, response: httpx.Response, payload: Any, key: ProviderKey, rate_limit: RateLimitInfo
    ) -> ProviderError:
        error = _google_error(payload)
        details = _details(error)
        message = error_message(payload, response)
        # A bad, expired or blocked key is a 400 INVALID_ARGUMENT with ErrorInfo API_KEY_*.
        reasons = {
            detail.get("reason")
            for detail in details
            if str(detail.get("@type", "")).endswith("google.rpc.ErrorInfo")
        }
        if error.get("status") == "UNAUTHENTICATED" or any(
            isinstance(reason, str) and reason.startswith("API_KEY_") for reason in reasons
        ):
            return AuthenticationFailed(
                message,
                provider=self.name,
                status_code=response.status_code,
                rate_limit=rate_limit,
                secrets=(key.secret,),
            )
        # A 429 says how long to wait in the body: RetryInfo.retryDelay ("43s").
        for detail in details:
            if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
                delay = detail.get("retryDelay")
                delay_s = parse_duration(delay) if isinstance(delay, str) else None
                if delay_s is not None and rate_limit.retry_after_s is None:
                    rate_limit = replace(rate_limit, retry_after_s=delay_s)
        return error_for_status(
            response.status_code,
            provider=self.name,
            message=message,
            rate_limit=rate_limit,
            secrets=(key.secret,),
        )

    def _parse(self, payload: Any, request: CompletionRequest) -> ParsedCompletion:
        body = obj(payload, "body")
        usage_value = body.get("usageMetadata")
        usage = obj(usage_value, "usageMetadata") if usage_value is not None else {}
        input_tokens = opt_int(usage.get("promptTokenCount"), "usageMetadata.promptTokenCount")
        # Thinking tokens are billed as output tokens.
        output_tokens = opt_int(
            usage.get("candidatesTokenCount"), "usageMetadata.candidatesTokenCount"
        ) + opt_int(usage.get("thoughtsTokenCount"), "usageMetadata.thoughtsTokenCount")
        model_version = opt_str(body.get("modelVersion"), "modelVersion")

        candidates_value = body.get("candidates")
        candidates = items(candidates_value, "candidates") if candidates_value is not None else []
        if not candidates:
            feedback_value = body.get("promptFeedback")
            feedback = obj(feedback_value, "promptFeedback") if feedback_value is not None else {}
            block_reason = opt_str(feedback.get("blockReason"), "promptFeedback.blockReason")
            if block_reason is None:
                raise ShapeError("no candidates and no promptFeedback.blockReason")
            return ParsedCompletion(
                text="",
                model_version=model_version,
                finish_reason="content_filter",
                raw_finish_reason=block_reason,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            )

        candidate = obj(candidates[0], "candidates[0]")
        raw_finish = opt_str(candidate.get("finishReason"), "candidates[0].finishReason")
        texts: list[str] = []
        # A candidate stopped for SAFETY may have no content at all.
        content_value = candidate.get("content")
        if content_value is not None:
            content = obj(content_value, "candidates[0].content")
            parts_value = content.get("parts")
            parts = items(parts_value, "candidates[0].content.parts") if parts_value else []
            for index, part_value in enumerate(parts):
                part = obj(part_value, f"candidates[0].content.parts[{index}]")
                if part.get("thought") is True:  # thought summaries are not the answer
                    continue
                text = opt_str(part.get("text"), f"candidates[0].content.parts[{index}].text")
                texts.append(text or "")
        elif raw_finish is None:
            raise ShapeError("candidates[0] has neither content nor finishReason")
        return ParsedCompletion(
            text="".join(texts),
            model_version=model_version,
            finish_reason=normalise_finish_reason(raw_finish),
            raw_finish_reason=raw_finish,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )
