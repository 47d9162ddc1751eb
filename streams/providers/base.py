"""The provider-neutral vocabulary (requests, completions, rate-limit views) and the shared HTTP
pipeline every wire format runs through: send, classify errors, parse the body."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx

from streams.providers.catalog import RequestParams, Retrieval, Wire
from streams.providers.errors import (
    MalformedResponse,
    ProviderError,
    TransientProviderError,
    error_for_status,
)
from streams.providers.shape import ShapeError
from streams.providers.types import (
    RUN_HEADER,
    SAMPLE_HEADER,
    CallMode,
    Completion,
    CompletionRequest,
    FinishReason,
    ProviderKey,
    RateLimitInfo,
)


@runtime_checkable
class ProviderAdapter(Protocol):
    """Anything that can turn a :class:`CompletionRequest` into a :class:`Completion`.

    Implementations raise only :class:`~streams.providers.errors.ProviderError` subclasses for
    provider and transport failures (``ValueError`` for programming errors such as a key of
    another provider)."""

    @property
    def name(self) -> str: ...

    @property
    def base_url(self) -> str: ...

    async def complete(
        self, client: httpx.AsyncClient, key: ProviderKey, request: CompletionRequest
    ) -> Completion: ...


@dataclass(frozen=True)
class ParsedCompletion:
    """What a wire format extracts from a 2xx body (``model_version`` None: the requested one)."""

    text: str
    model_version: str | None
    finish_reason: FinishReason
    raw_finish_reason: str | None
    input_tokens: int
    output_tokens: int


class HTTPProviderAdapter(ABC):
    """The shared pipeline; subclasses describe only their wire format."""

    wire: ClassVar[Wire]

    def __init__(self, *, name: str, base_url: str, params: RequestParams | None = None,
                 retrieval: Retrieval | None = None, mode: CallMode = "memory",
                 count_searches: Callable[[Any], int] | None = None) -> None:
        self._name = name
        self._base_url = base_url.rstrip("/")
        self.params = params or RequestParams()
        self.retrieval = retrieval or Retrieval(api=None)
        if mode == "retrieval" and self.retrieval.api is None:
            raise ValueError(f"{name} has no web search: {self.retrieval.refusal}")
        self.mode: CallMode = mode
        # What a retrieval body says was billed (the citation extractor's count).
        self._count_searches = count_searches

    @property
    def name(self) -> str:
        return self._name

    @property
    def base_url(self) -> str:
        return self._base_url

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self._name!r}, base_url={self._base_url!r}, "
                f"mode={self.mode!r})")

    @property
    def api(self) -> str:
        """The shape of this adapter's answers: the search API in retrieval mode, else the
        wire format's name."""
        return self.retrieval.api if self.mode == "retrieval" and self.retrieval.api else (
            self.wire)

    def request_body(self, request: CompletionRequest) -> dict[str, Any]:
        """The JSON body sent: the wire format's, plus what the mode adds (the web-search tool,
        or Perplexity's switch that turns its search off)."""
        extra = self.retrieval.body if self.mode == "retrieval" else self.retrieval.memory_body
        return self._body(request) | dict(extra)

    def parse_body(self, payload: Any, request: CompletionRequest) -> ParsedCompletion:
        """Text, usage and finish reason from a 2xx body (raises ShapeError)."""
        return self._parse(payload, request)

    def web_searches(self, payload: Any) -> int:
        """The searches a body says the provider billed. A body whose search part cannot be
        read counts the most a call can bill, so a cost cap errs on the safe side."""
        if self.mode != "retrieval" or self._count_searches is None:
            return 0
        try:
            return self._count_searches(payload)
        except ShapeError:
            return self.retrieval.max_searches

    # -- what a wire format describes -------------------------------------------------------

    @abstractmethod
    def _url(self, request: CompletionRequest) -> str: ...

    @abstractmethod
    def _headers(self, secret: str) -> dict[str, str]: ...

    @abstractmethod
    def _body(self, request: CompletionRequest) -> dict[str, Any]: ...

    @abstractmethod
    def _rate_limit(self, headers: Mapping[str, str]) -> RateLimitInfo: ...

    @abstractmethod
    def _parse(self, payload: Any, request: CompletionRequest) -> ParsedCompletion: ...

    def _error(
        self, response: httpx.Response, payload: Any, key: ProviderKey, rate_limit: RateLimitInfo
    ) -> ProviderError:
        """Classify a non-2xx response; wire formats refine this (e.g. Gemini's 400 bad key)."""
        return error_for_status(
            response.status_code,
            provider=self._name,
            message=error_message(payload, response),
            rate_limit=rate_limit,
            secrets=(key.secret,),
            error_code=error_code(payload),
            should_retry=response.headers.get("x-should-retry"),
        )

    # -- the pipeline -----------------------------------------------------------------------

    async def complete(
        self, client: httpx.AsyncClient, key: ProviderKey, request: CompletionRequest
    ) -> Completion:
        if key.provider != self._name:
            # Never send one provider's key to another provider's endpoint.
            raise ValueError(f"key {key.fingerprint} does not belong to provider {self._name!r}")
        try:
            response = await client.post(
                _parsed_url(self._url(request)),
                headers={**self._headers(key.secret.get_secret_value()),
                         SAMPLE_HEADER: str(request.sample), RUN_HEADER: request.run_id},
                json=self.request_body(request),
            )
        except httpx.TimeoutException as exc:
            raise TransientProviderError(
                f"request timed out ({type(exc).__name__})",
                provider=self._name,
                secrets=(key.secret,),
            ) from None  # the httpx exception's own text is unscrubbed; keep it out of logs
        except httpx.RequestError as exc:
            raise TransientProviderError(
                f"transport error ({type(exc).__name__}): {exc}",
                provider=self._name,
                secrets=(key.secret,),
            ) from None

        rate_limit = self._rate_limit(response.headers)
        payload = _json_or_none(response)
        if not response.is_success:
            raise self._error(response, payload, key, rate_limit)
        if payload is None:
            raise MalformedResponse(
                f"HTTP {response.status_code} body is not JSON: {response.text[:200]}",
                provider=self._name,
                status_code=response.status_code,
                rate_limit=rate_limit,
                secrets=(key.secret,),
            )
        try:
            parsed = self._parse(payload, request)
        except ShapeError as exc:
            raise MalformedResponse(
                f"unexpected response shape: {exc}",
                provider=self._name,
                status_code=response.status_code,
                rate_limit=rate_limit,
                secrets=(key.secret,),
            ) from None
        return Completion(
            text=parsed.text,
            model_version=parsed.model_version or request.model,
            finish_reason=parsed.finish_reason,
            raw_finish_reason=parsed.raw_finish_reason,
            input_tokens=parsed.input_tokens,
            output_tokens=parsed.output_tokens,
            rate_limit=rate_limit,
            status_code=response.status_code,
            body=response.content,
            api=self.api,
            web_searches=self.web_searches(payload),
        )


# -- JSON helpers for the wire formats -----------------------------------------------------


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


def error_message(payload: Any, response: httpx.Response) -> str:
    """The provider's own words: OpenAI ``{"error":{"message","type"}}``, Anthropic
    ``{"type":"error","error":{"type","message"}}``, Google ``{"error":{"status","message"}}``,
    a few OpenAI-compatibles' ``{"message"}`` / ``{"detail"}``; else the raw body."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            kind = error.get("type") or error.get("status") or error.get("code")
            if isinstance(message, str) and message:
                return f"{kind}: {message}" if isinstance(kind, str) and kind else message
        if isinstance(error, str) and error:
            return error
        for field in ("message", "detail"):
            value = payload.get(field)
            if isinstance(value, str) and value:
                return value
    text = response.text.strip()
    return text or (response.reason_phrase or "no error body")


def error_code(payload: Any) -> str | None:
    """The machine-readable ``error.code`` (or ``error.type``) of an error body, if any."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        for field in ("code", "type"):
            value = error.get(field)
            if isinstance(value, str) and value:
                return value
    return None


# A provider's endpoints are few: each is parsed once, not on every call.
_parsed_url = functools.lru_cache(maxsize=1024)(httpx.URL)
