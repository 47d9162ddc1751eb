"""One aiohttp server that impersonates all eight providers on their real wire formats, each
under ``/<provider>``, with rate limits, outages, injected errors and an admin API (``/_sim``).

Each provider's parameters are checked as its real API checks them (``params.py``: an unknown
or mistyped field gets that API's own error status and body), so an adapter cannot pass here
with a request production would refuse.

Outage deadlines are wall-clock (``time.time()``) timestamps so another process can set them;
rate-limit buckets use the monotonic clock."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import signal
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streams.providers.catalog import PROVIDERS, Wire
from streams.providers.types import RUN_HEADER
from streams.simulator.answers import (
    DEFAULT_FACT_ERROR_RATE,
    DEFAULT_KNOWLEDGE_RATE,
    AnswerEngine,
    active_effects,
    estimate_tokens,
    true_rates,
    truncate,
    unit_hash,
)
from streams.simulator.brands import default_brands, load_brands
from streams.simulator.params import ParamRefused, check_request, sample_of

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
JSON = dict[str, Any]

OUTCOMES = ("ok", "400", "401", "403", "404", "422", "429", "5xx")
# Default model version suffix per wire, mimicking how each provider pins a snapshot.
VERSION_SUFFIX: dict[Wire, str] = {"openai": "-2024-07-18", "anthropic": "-20241022",
                                   "gemini": "-002"}
_DATED = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{3})$")


class RateLimit(BaseModel):
    """Per-key limits; ``None`` or 0 means unlimited. ``burst`` defaults to ``rpm``."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = None
    burst: int | None = None
    tpm: int | None = None


# What a news effect adds to descriptions when it gives only a sentiment.
NEWS_DESCRIPTIONS: dict[str, str] = {
    "negative": "It has recently been at the centre of a major scandal, with lawsuits, heavy "
                "fines and widespread criticism of its conduct.",
    "positive": "It has recently won wide praise for an excellent and highly successful new "
                "product launch.",
}


class NewsEffect(BaseModel):
    """From wall-clock time ``after`` on, models describe ``domain`` differently: each known
    description ends with ``description_change`` (or the sentence for ``sentiment``), and the
    brand's knowledge and fact-error rates become the ones given here."""

    model_config = ConfigDict(extra="forbid")

    domain: str
    after: float  # time.time()
    providers: list[str] | None = None  # None: every provider
    knowledge_rate: Rate | None = None
    fact_error_rate: Rate | None = None
    sentiment: Literal["negative", "positive"] | None = None
    description_change: str | None = None

    @property
    def addendum(self) -> str | None:
        return self.description_change or (NEWS_DESCRIPTIONS[self.sentiment]
                                            if self.sentiment else None)


class SimulatorConfig(BaseModel):
    """Everything that shapes the simulator's behaviour; all but host/port change at run time."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    latency_ms: float = Field(0.0, ge=0)
    latency_jitter_ms: float = Field(0.0, ge=0)
    error_rate: Rate = 0.0  # share of answerable requests that get 500/503
    error_rates: dict[str, Rate] = Field(default_factory=dict)  # per-provider override
    outages: dict[str, float] = Field(default_factory=dict)  # provider or "*" -> time.time() end
    revoked_keys: list[str] = Field(default_factory=list)
    rpm: int | None = None
    burst: int | None = None
    tpm: int | None = None
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)  # per-provider override
    knowledge_rates: dict[str, Rate] = Field(default_factory=dict)  # "provider[:model]" -> rate
    fact_error_rates: dict[str, Rate] = Field(default_factory=dict)
    default_knowledge_rate: Rate = DEFAULT_KNOWLEDGE_RATE
    default_fact_error_rate: Rate = DEFAULT_FACT_ERROR_RATE
    model_version_overrides: dict[str, str] = Field(default_factory=dict)  # "provider[:model]"
    # Per brand: domain -> {"provider:model" | "provider" | "*": rate}.
    brand_knowledge_rates: dict[str, dict[str, Rate]] = Field(default_factory=dict)
    brand_fact_error_rates: dict[str, dict[str, Rate]] = Field(default_factory=dict)
    news_effects: list[NewsEffect] = Field(default_factory=list)
    brands_path: str | None = None

    def limits_for(self, provider: str) -> RateLimit:
        return self.rate_limits.get(provider) or RateLimit(rpm=self.rpm, burst=self.burst,
                                                          tpm=self.tpm)

    def in_outage(self, provider: str, now: float) -> bool:
        until = max(self.outages.get(provider, 0.0), self.outages.get("*", 0.0))
        return now < until

    def error_rate_for(self, provider: str) -> float:
        return self.error_rates.get(provider, self.error_rate)

    def version_overridden(self, provider: str, model: str) -> bool:
        return bool(self.model_version_overrides.get(f"{provider}:{model}")
                    or self.model_version_overrides.get(provider))

    def news_addendum(self, provider: str, domain: str | None, now: float) -> str | None:
        """The description change of the latest news effect on ``domain`` in force."""
        if domain is None:
            return None
        found = [e.addendum for e in active_effects(self, provider, domain, now)
                 if isinstance(e, NewsEffect) and e.addendum]
        return found[-1] if found else None

    def model_version(self, provider: str, model: str) -> str:
        """The version string reported for ``model`` (overridable to simulate a switch)."""
        override = (self.model_version_overrides.get(f"{provider}:{model}")
                    or self.model_version_overrides.get(provider))
        if override:
            return override
        if _DATED.search(model):
            return model
        return model + VERSION_SUFFIX[PROVIDERS[provider].wire]


def apply_patch(config: SimulatorConfig, patch: Mapping[str, Any]) -> SimulatorConfig:
    """``config`` with top-level fields replaced by ``patch``. Extra key ``outage_for_s``
    (provider or "*" -> seconds from now; <= 0 clears) merges into ``outages``."""
    data = config.model_dump()
    fields = dict(patch)
    outage_for = fields.pop("outage_for_s", None) or {}
    data.update(fields)
    outages = dict(data.get("outages") or {})
    now = time.time()
    for provider, seconds in dict(outage_for).items():
        if float(seconds) > 0:
            outages[provider] = now + float(seconds)
        else:
            outages.pop(provider, None)
    data["outages"] = outages
    new = SimulatorConfig.model_validate(data)
    unknown = set(new.outages) - set(PROVIDERS) - {"*"}
    if unknown:
        raise ValueError(f"unknown providers in outages: {sorted(unknown)}")
    return new


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


def _rfc3339(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds_from_now, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class _Bucket:
    """A token bucket; starts full."""

    __slots__ = ("level", "stamp")

    def __init__(self, capacity: float, now: float) -> None:
        self.level = capacity
        self.stamp = now

    def refill(self, capacity: float, per_second: float, now: float) -> None:
        self.level = min(capacity, self.level + (now - self.stamp) * per_second)
        self.stamp = now


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Call:
    """One parsed provider request."""

    __slots__ = ("max_tokens", "model", "prompt", "salt", "sample")

    def __init__(self, model: str, prompt: str, sample: int, max_tokens: int | None,
                 request: web.Request) -> None:
        self.model = model
        self.prompt = prompt
        self.sample = sample
        self.max_tokens = max_tokens
        # The run the call belongs to salts the draws; bounded, as any header from outside.
        self.salt = request.headers.get(RUN_HEADER, "")[:64]


# ---- wire formats -------------------------------------------------------------------------

def _text_of(content: Any) -> str:
    """Message content as plain text: a string or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    raise _ApiError(400, "message content must be a string or a list of parts")


def _int_or_none(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _ApiError(400, f"{field} must be an integer")
    return value


def _model(body: JSON) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _ApiError(400, "model is required")
    return model


def _messages_prompt(body: JSON) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _ApiError(400, "messages must be a non-empty list")
    return "\n".join(_text_of(m.get("content")) for m in messages if isinstance(m, dict))


# The parsers run after check_request, so fields are known and typed; they extract the call.

def _parse_openai(provider: str, body: JSON, request: web.Request) -> _Call:
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    return _Call(_model(body), _messages_prompt(body), sample_of(provider, body, request.headers),
                 _int_or_none(max_tokens, "max_tokens"), request)


def _parse_anthropic(provider: str, body: JSON, request: web.Request) -> _Call:
    return _Call(_model(body), _messages_prompt(body), sample_of(provider, body, request.headers),
                 _int_or_none(body.get("max_tokens"), "max_tokens"), request)


def _parse_gemini(provider: str, body: JSON, request: web.Request) -> _Call:
    model, _, method = request.match_info["tail"].rpartition(":")
    if method != "generateContent" or not model:
        raise _ApiError(404, f"method {method!r} is not supported by this simulator")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise _ApiError(400, "contents must be a non-empty list")
    prompt = "\n".join(_text_of(c.get("parts")) for c in contents if isinstance(c, dict))
    config = body.get("generationConfig", body.get("generation_config")) or {}
    max_tokens = config.get("maxOutputTokens", config.get("max_output_tokens"))
    return _Call(model, prompt, sample_of(provider, body, request.headers),
                 _int_or_none(max_tokens, "maxOutputTokens"), request)


def _key(wire: Wire, request: web.Request) -> str:
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


def _error_body(wire: Wire, status: int, message: str) -> JSON:
    if wire == "openai":
        kind, code = _OPENAI_ERRORS.get(status, ("server_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}
    if wire == "anthropic":
        return {"type": "error", "error": {"type": _ANTHROPIC_ERRORS.get(status, "api_error"),
                                           "message": message}}
    return {"error": {"code": status, "message": message,
                      "status": _GOOGLE_STATUS.get(status, "INTERNAL")}}


def _ok_body(provider: str, version: str, text: str, cut: bool, prompt_tokens: int,
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


_PARSERS = {"openai": _parse_openai, "anthropic": _parse_anthropic, "gemini": _parse_gemini}


# ---- state --------------------------------------------------------------------------------

class SimulatorState:
    """Config, counters and limiter state of one running simulator."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.initial_config = config
        self.config = config
        brands = load_brands(config.brands_path) if config.brands_path else default_brands()
        self.engine = AnswerEngine(brands)
        self._fingerprints: dict[str, str] = {}
        self._sequence = 0
        self.reset()

    def reset(self, *, config: bool = False) -> None:
        """Zero counters, identities, retry attempts and rate-limit buckets."""
        if config:
            self.config = self.initial_config
        self._revoked = frozenset(self.config.revoked_keys)
        self.total = 0
        self.by_provider: dict[str, dict[str, int]] = {}
        self.by_key: dict[str, dict[str, dict[str, int]]] = {}
        self.calls_by_identity: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        self.buckets: dict[tuple[str, str, str], _Bucket] = {}

    def configure(self, patch: Mapping[str, Any]) -> SimulatorConfig:
        self.config = apply_patch(self.config, patch)
        self._revoked = frozenset(self.config.revoked_keys)
        # New limits start from full buckets, as after a real quota change.
        self.buckets.clear()
        return self.config

    def fingerprint(self, key: str) -> str:
        if not key:
            return "none"
        found = self._fingerprints.get(key)
        if found is None:
            if len(self._fingerprints) > 10_000:
                self._fingerprints.clear()
            found = self._fingerprints[key] = fingerprint(key)
        return found

    def record(self, provider: str, key_fp: str, status: int) -> None:
        outcome = "ok" if status == 200 else "5xx" if status >= 500 else str(status)
        self.total += 1
        counts = self.by_provider.setdefault(provider, dict.fromkeys(("requests", *OUTCOMES), 0))
        counts["requests"] += 1
        counts[outcome] = counts.get(outcome, 0) + 1
        keys = self.by_key.setdefault(provider, {})
        key_counts = keys.setdefault(key_fp, dict.fromkeys(OUTCOMES, 0))
        key_counts[outcome] = key_counts.get(outcome, 0) + 1

    def next_id(self) -> str:
        self._sequence += 1
        return f"{self._sequence:016x}"

    def stats(self, *, identities: bool = True) -> JSON:
        paid = self.calls_by_identity
        out: JSON = {
            "total_requests": self.total,
            "by_provider": self.by_provider,
            "by_key": self.by_key,
            "paid_calls": sum(paid.values()),
            "unique_identities": len(paid),
            "duplicates": sum(1 for count in paid.values() if count > 1),
        }
        if identities:
            out["calls_by_identity"] = paid
        return out

    def public_config(self) -> JSON:
        data = self.config.model_dump()
        data["revoked_keys"] = [fingerprint(k) for k in self.config.revoked_keys]
        return data

    def is_revoked(self, key: str) -> bool:
        return key in self._revoked

    def limit(self, provider: str, key_fp: str, cost: int,
              ) -> tuple[float, dict[str, tuple[int, int, float]]]:
        """Take one request and ``cost`` tokens from the key's buckets.

        Returns the wait until it would pass (0 = passed) and, per limited dimension,
        (limit, remaining, seconds until full) for the headers."""
        limits = self.config.limits_for(provider)
        now = time.monotonic()
        dims: list[tuple[str, float, float, float]] = []  # name, capacity, per second, cost
        if limits.rpm:
            dims.append(("requests", float(limits.burst or limits.rpm), limits.rpm / 60.0, 1.0))
        if limits.tpm:
            dims.append(("tokens", float(limits.tpm), limits.tpm / 60.0, float(cost)))
        wait = 0.0
        buckets = []
        for name, capacity, per_second, amount in dims:
            bucket = self.buckets.get((provider, key_fp, name))
            if bucket is None:
                bucket = self.buckets[(provider, key_fp, name)] = _Bucket(capacity, now)
            bucket.refill(capacity, per_second, now)
            buckets.append(bucket)
            if bucket.level < amount:
                # A request larger than the bucket can never pass: say "a minute".
                shortfall = (amount - bucket.level) / per_second if amount <= capacity else 60.0
                wait = max(wait, shortfall)
        info: dict[str, tuple[int, int, float]] = {}
        for (name, capacity, per_second, amount), bucket in zip(dims, buckets, strict=True):
            if wait == 0.0:
                bucket.level -= amount
            limit = limits.rpm if name == "requests" else limits.tpm
            info[name] = (int(limit or 0), max(0, int(bucket.level)),
                          (capacity - bucket.level) / per_second)
        return wait, info


def _rate_headers(wire: Wire, info: Mapping[str, tuple[int, int, float]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, (limit, remaining, reset) in info.items():
        if wire == "openai":
            headers[f"x-ratelimit-limit-{name}"] = str(limit)
            headers[f"x-ratelimit-remaining-{name}"] = str(remaining)
            headers[f"x-ratelimit-reset-{name}"] = go_duration(reset)
        elif wire == "anthropic":
            headers[f"anthropic-ratelimit-{name}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(remaining)
            headers[f"anthropic-ratelimit-{name}-reset"] = _rfc3339(reset)
    return headers


def _json(status: int, body: JSON, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=json.dumps(body, ensure_ascii=False).encode(),
                        content_type="application/json", headers=headers)


# ---- handlers -----------------------------------------------------------------------------

class _ProviderHandler:
    """Serves one provider's generation endpoint."""

    def __init__(self, state: SimulatorState, provider: str) -> None:
        self.state = state
        self.provider = provider
        self.wire: Wire = PROVIDERS[provider].wire
        self.parse = _PARSERS[self.wire]

    def _error(self, key_fp: str, status: int, message: str,
               headers: Mapping[str, str] | None = None) -> web.Response:
        self.state.record(self.provider, key_fp, status)
        return _json(status, _error_body(self.wire, status, message), headers)

    async def handle(self, request: web.Request) -> web.Response:
        state, provider, wire = self.state, self.provider, self.wire
        config = state.config
        key = _key(wire, request)
        key_fp = state.fingerprint(key)
        if not key:
            return self._error(key_fp, 401, "missing API key")
        if state.is_revoked(key):
            status = 403 if wire == "gemini" else 401
            return self._error(key_fp, status, f"API key {key_fp}… has been revoked")
        try:
            body = json.loads(await request.read())
            if not isinstance(body, dict):
                raise _ApiError(400, "request body must be a JSON object")
            check_request(provider, body, request.headers)
            call = self.parse(provider, body, request)
        except ValueError:
            return self._error(key_fp, 400, "request body is not valid JSON")
        except _ApiError as exc:
            return self._error(key_fp, exc.status, exc.message)
        except ParamRefused as exc:
            state.record(provider, key_fp, exc.status)
            return _json(exc.status, exc.body)
        if config.in_outage(provider, time.time()):
            return self._error(key_fp, 503, f"{provider} is temporarily unavailable (outage)")

        prompt_tokens = estimate_tokens(call.prompt)
        wait, info = state.limit(provider, key_fp, prompt_tokens + (call.max_tokens or 0))
        headers = _rate_headers(wire, info)
        if wait > 0:
            headers["retry-after"] = str(max(1, math.ceil(wait)))
            return self._error(key_fp, 429, f"rate limit exceeded for key {key_fp}…, retry in "
                                            f"{wait:.2f}s", headers)

        identity = hashlib.sha256("\x1f".join(
            (provider, call.model, call.prompt, str(call.sample))).encode()).hexdigest()[:16]
        attempt = state.attempts.get(identity, 0)
        state.attempts[identity] = attempt + 1
        delay = config.latency_ms
        if config.latency_jitter_ms:
            delay += (unit_hash("jitter", identity, attempt) * 2 - 1) * config.latency_jitter_ms
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        error_rate = config.error_rate_for(provider)
        if error_rate and unit_hash("error", identity, attempt) < error_rate:
            status = 500 if unit_hash("status", identity, attempt) < 0.5 else 503
            return self._error(key_fp, status, "simulated server error", headers)

        version = config.model_version(provider, call.model)
        _, brand = state.engine.find_domain(call.prompt)
        domain = brand.domain if brand else None
        now = time.time()
        knowledge_rate, fact_error_rate = true_rates(provider, call.model, config, domain=domain,
                                                     now=now)
        answer = state.engine.answer(model=version, prompt=call.prompt, sample=call.sample,
                                     knowledge_rate=knowledge_rate,
                                     fact_error_rate=fact_error_rate,
                                     addendum=config.news_addendum(provider, domain, now),
                                     restyle=config.version_overridden(provider, call.model),
                                     salt=call.salt)
        text, cut = truncate(answer.text, call.max_tokens)
        state.calls_by_identity[identity] = state.calls_by_identity.get(identity, 0) + 1
        state.record(provider, key_fp, 200)
        body = _ok_body(provider, version, text, cut, prompt_tokens, estimate_tokens(text),
                        state.next_id())
        return _json(200, body, headers)


def _admin_routes(state: SimulatorState) -> list[web.RouteDef]:
    async def get_stats(request: web.Request) -> web.Response:
        return _json(200, state.stats(identities=request.query.get("identities") != "0"))

    async def get_config(request: web.Request) -> web.Response:
        return _json(200, state.public_config())

    async def post_config(request: web.Request) -> web.Response:
        try:
            patch = json.loads(await request.read() or b"{}")
            if not isinstance(patch, dict):
                raise ValueError("the patch must be a JSON object")
            state.configure(patch)
        except (ValueError, ValidationError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, state.public_config())

    async def post_reset(request: web.Request) -> web.Response:
        state.reset(config=request.query.get("config") in ("1", "true"))
        return _json(200, {"ok": True})

    async def health(request: web.Request) -> web.Response:
        return _json(200, {"ok": True})

    return [web.get("/_sim/stats", get_stats), web.get("/_sim/config", get_config),
            web.post("/_sim/config", post_config), web.post("/_sim/reset", post_reset),
            web.get("/_sim/health", health)]


def build_app(state: SimulatorState) -> web.Application:
    """The aiohttp application serving every provider plus the admin API."""
    app = web.Application(client_max_size=4 * 1024 * 1024)
    routes = _admin_routes(state)
    for name, spec in PROVIDERS.items():
        handler = _ProviderHandler(state, name).handle
        if spec.wire == "openai":
            # Also without /v1, as DeepSeek and Perplexity document their base URLs.
            routes += [web.post(f"/{name}/v1/chat/completions", handler),
                       web.post(f"/{name}/chat/completions", handler)]
        elif spec.wire == "anthropic":
            routes.append(web.post(f"/{name}/v1/messages", handler))
        else:
            # v1beta is what the REST reference shows; google-genai 3.x defaults to v1.
            routes += [web.post(f"/{name}/v1beta/models/{{tail}}", handler),
                       web.post(f"/{name}/v1/models/{{tail}}", handler)]
    app.add_routes(routes)
    return app


# ---- lifecycle ----------------------------------------------------------------------------

class RunningSimulator:
    """A started simulator; ``url`` is its root, ``base_urls()`` what providers should use."""

    def __init__(self, runner: web.AppRunner, state: SimulatorState, url: str) -> None:
        self._runner = runner
        self.state = state
        self.url = url

    @property
    def config(self) -> SimulatorConfig:
        return self.state.config

    def base_urls(self) -> dict[str, str]:
        """Provider -> base URL in the form its real adapter expects."""
        return {name: f"{self.url}/{name}/v1" if spec.wire == "openai" else f"{self.url}/{name}"
                for name, spec in PROVIDERS.items()}

    def env(self) -> dict[str, str]:
        """``DR_<PROVIDER>_BASE_URL`` variables pointing the app at this simulator."""
        return {f"DR_{name.upper()}_BASE_URL": url for name, url in self.base_urls().items()}

    def configure(self, patch: Mapping[str, Any]) -> SimulatorConfig:
        """Same as ``POST /_sim/config``."""
        return self.state.configure(patch)

    def stats(self) -> JSON:
        return self.state.stats()

    def reset(self, *, config: bool = False) -> None:
        self.state.reset(config=config)

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> RunningSimulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def start_simulator(config: SimulatorConfig | None = None) -> RunningSimulator:
    """Start serving on ``config.host:config.port`` (0 = a free port) in the running loop."""
    config = config or SimulatorConfig()
    state = SimulatorState(config)
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port, backlog=1024)
        await site.start()
        host, port = runner.addresses[0][:2]
    except BaseException:
        await runner.cleanup()
        raise
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    return RunningSimulator(runner, state, url)


async def _serve_forever(config: SimulatorConfig) -> None:
    sim = await start_simulator(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"simulator listening on {sim.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def serve(config: SimulatorConfig | None = None) -> None:
    """Run the simulator until SIGINT/SIGTERM (for ``domain-runner sim``)."""
    asyncio.run(_serve_forever(config or SimulatorConfig()))
