"""The providers' wire formats as the simulator speaks them: parse a request into one call, and
write an answer, an error body or rate-limit headers the way each real API does."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from streams.errors import DomainRunnerError
from streams.providers.catalog import PROVIDERS, Wire
from streams.providers.types import RUN_HEADER
from streams.simulator.category import Mode
from streams.simulator.config import JSON
from streams.simulator.params import sample_of
from streams.simulator.tools import anthropic_mode, chat_mode, gemini_mode, responses_mode


def fingerprint(key: str) -> str:
    """First 8 hex chars of sha256(key): safe to show, never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def go_duration(seconds: float) -> str:
    """OpenAI's reset format: ``120ms``, ``1s``, ``6m0s``, ``1h2m3.5s``."""
    ms = max(0, math.ceil(seconds * 1000))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    minutes, rest = divmod(ms, 60_000)
    hours, minutes = divmod(minutes, 60)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + secs


def rfc3339(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds_from_now, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class ApiError(DomainRunnerError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ParsedCall:
    """One parsed provider request: ``mode`` says whether it searches the web (``retrieval``)
    and ``search_limit`` how many searches it allows (None: the engine's own count); ``body``
    is the request, for what an answer echoes."""

    __slots__ = ("body", "max_tokens", "mode", "model", "prompt", "salt", "sample",
                 "search_limit")

    def __init__(self, model: str, prompt: str, sample: int, max_tokens: int | None,
                 request: web.Request, *, mode: Mode = "memory",
                 search_limit: int | None = None, body: JSON | None = None) -> None:
        self.model = model
        self.prompt = prompt
        self.sample = sample
        self.max_tokens = max_tokens
        # The run the call belongs to salts the draws; bounded, as any header from outside.
        self.salt = request.headers.get(RUN_HEADER, "")[:64]
        self.mode: Mode = mode
        self.search_limit = search_limit
        self.body: JSON = body if body is not None else {}


def _text_of(content: Any) -> str:
    """Message content as plain text: a string or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    raise ApiError(400, "message content must be a string or a list of parts")


def _int_or_none(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{field} must be an integer")
    return value


def _model(body: JSON) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "model is required")
    return model


def _messages_prompt(body: JSON) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list")
    return "\n".join(_text_of(m.get("content")) for m in messages if isinstance(m, dict))


def parse_openai(provider: str, body: JSON, request: web.Request) -> ParsedCall:
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    return ParsedCall(_model(body), _messages_prompt(body),
                      sample_of(provider, body, request.headers),
                      _int_or_none(max_tokens, "max_tokens"), request,
                      mode=chat_mode(provider, body), body=body)


def parse_responses(provider: str, body: JSON, request: web.Request) -> ParsedCall:
    """A Responses API request (OpenAI, xAI): its ``input`` is the prompt; no seed, so the
    sample comes from the adapters' header."""
    prompt = body.get("input")
    if isinstance(prompt, list):
        prompt = "\n".join(_text_of(item.get("content")) for item in prompt
                           if isinstance(item, dict))
    if not isinstance(prompt, str) or not prompt:
        raise ApiError(400, "input must be a non-empty string or list of input items")
    return ParsedCall(_model(body), prompt, sample_of(provider, body, request.headers),
                      _int_or_none(body.get("max_output_tokens"), "max_output_tokens"), request,
                      mode=responses_mode(provider, body),
                      search_limit=_int_or_none(body.get("max_tool_calls"), "max_tool_calls"),
                      body=body)


def parse_anthropic(provider: str, body: JSON, request: web.Request) -> ParsedCall:
    mode, max_uses = anthropic_mode(body)
    return ParsedCall(_model(body), _messages_prompt(body),
                      sample_of(provider, body, request.headers),
                      _int_or_none(body.get("max_tokens"), "max_tokens"), request,
                      mode=mode, search_limit=max_uses, body=body)


def parse_gemini(provider: str, body: JSON, request: web.Request) -> ParsedCall:
    model, _, method = request.match_info["tail"].rpartition(":")
    if method != "generateContent" or not model:
        raise ApiError(404, f"method {method!r} is not supported by this simulator")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise ApiError(400, "contents must be a non-empty list")
    prompt = "\n".join(_text_of(c.get("parts")) for c in contents if isinstance(c, dict))
    config = body.get("generationConfig", body.get("generation_config")) or {}
    max_tokens = config.get("maxOutputTokens", config.get("max_output_tokens"))
    return ParsedCall(model, prompt, sample_of(provider, body, request.headers),
                      _int_or_none(max_tokens, "maxOutputTokens"), request,
                      mode=gemini_mode(body), body=body)


def request_key(wire: Wire, request: web.Request) -> str:
    if wire == "openai":
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""
    if wire == "anthropic":
        # The official SDKs (API version 2026-10-21) send Authorization: Bearer.
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else ""
        return request.headers.get("x-api-key", "").strip() or bearer
    return (request.headers.get("x-goog-api-key") or request.query.get("key") or "").strip()


_OPENAI_ERRORS = {400: ("invalid_request_error", None), 401: ("invalid_request_error",
                  "invalid_api_key"), 404: ("invalid_request_error", "unknown_url"),
                  429: ("rate_limit_error", "rate_limit_exceeded"), 500: ("server_error", None),
                  503: ("server_error", "service_unavailable")}


_ANTHROPIC_ERRORS = {400: "invalid_request_error", 401: "authentication_error",
                     403: "permission_error", 404: "not_found_error", 429: "rate_limit_error",
                     500: "api_error", 503: "overloaded_error"}


_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                  404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                  503: "UNAVAILABLE"}


def error_body(wire: Wire, status: int, message: str) -> JSON:
    if wire == "openai":
        kind, code = _OPENAI_ERRORS.get(status, ("server_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}
    if wire == "anthropic":
        return {"type": "error", "error": {"type": _ANTHROPIC_ERRORS.get(status, "api_error"),
                                           "message": message}}
    return {"error": {"code": status, "message": message,
                      "status": _GOOGLE_STATUS.get(status, "INTERNAL")}}


def ok_body(provider: str, version: str, text: str, cut: bool, prompt_tokens: int,
             completion_tokens: int, call_id: str) -> JSON:
    wire = PROVIDERS[provider].wire
    if wire == "openai":
        body: JSON = {
            "id": f"chatcmpl-{call_id}", "object": "chat.completion",
            "created": int(time.time()), "model": version, "system_fingerprint": "fp_simulator",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "logprobs": None, "finish_reason": "length" if cut else "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }
        if provider == "mistral":  # an OpenAI field Mistral's responses do not have
            del body["system_fingerprint"]
        return body
    if wire == "anthropic":
        return {
            "id": f"msg_{call_id}", "type": "message", "role": "assistant", "model": version,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "max_tokens" if cut else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
        }
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": "MAX_TOKENS" if cut else "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": prompt_tokens,
                          "candidatesTokenCount": completion_tokens,
                          "totalTokenCount": prompt_tokens + completion_tokens},
        "modelVersion": version, "responseId": call_id,
    }


PARSERS = {"openai": parse_openai, "anthropic": parse_anthropic, "gemini": parse_gemini}


def rate_headers(wire: Wire, info: Mapping[str, tuple[int, int, float]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, (limit, remaining, reset) in info.items():
        if wire == "openai":
            headers[f"x-ratelimit-limit-{name}"] = str(limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(remaining)
            headers[f"x-ratelimit-reset-{name}"] = go_duration(reset)
        elif wire == "anthropic":
            headers[f"anthropic-ratelimit-{name}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(remaining)
            headers[f"anthropic-ratelimit-{name}-reset"] = rfc3339(reset)
    return headers


def json_response(status: int, body: JSON,
                  headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=json.dumps(body, ensure_ascii=False).encode(),
                        content_type="application/json", headers=headers)
