"""One exception hierarchy for everything that can go wrong talking to a provider.

Every message is scrubbed of the API key (and of fragments of it, as in OpenAI's
``Incorrect API key provided: sk-proj-****abcd``) and truncated, so exceptions are safe to log,
to put in a dead-letter event or to show in a span."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from pydantic import SecretStr

from streams.errors import DomainRunnerError

if TYPE_CHECKING:
    from streams.providers.types import RateLimitInfo

MAX_MESSAGE_CHARS = 500
REDACTED = "[REDACTED]"
# A token sharing this many consecutive characters with a key is treated as (part of) the key.
_MIN_FRAGMENT = 6
_TOKEN = re.compile(r"[^\s\"'`<>()\[\]{},;]+")


def redact(text: str, secrets: Iterable[SecretStr | str] = ()) -> str:
    """``text`` with every secret, and every token containing a fragment of one, replaced."""
    values = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
    values = [v for v in values if v]
    if not values:
        return text
    for value in values:
        text = text.replace(value, REDACTED)
    fragments = {
        value[i : i + _MIN_FRAGMENT]
        for value in values
        if len(value) >= _MIN_FRAGMENT
        for i in range(len(value) - _MIN_FRAGMENT + 1)
    }
    if not fragments:
        return text

    def scrub(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == REDACTED or len(token) < _MIN_FRAGMENT:
            return token
        for i in range(len(token) - _MIN_FRAGMENT + 1):
            if token[i : i + _MIN_FRAGMENT] in fragments:
                return REDACTED
        return token

    return _TOKEN.sub(scrub, text)


def safe_message(text: str, secrets: Iterable[SecretStr | str] = ()) -> str:
    """Redacted first, then truncated (so a cut can never leave part of a key behind)."""
    text = redact(" ".join(text.split()), secrets)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


class ProviderError(DomainRunnerError):
    """Base of every provider failure. ``retryable`` says whether the same call may succeed
    later (with the same key); ``message`` is safe to log."""

    retryable: ClassVar[bool] = False

    provider: str
    status_code: int | None
    message: str
    rate_limit: RateLimitInfo | None

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        rate_limit: RateLimitInfo | None = None,
        secrets: Iterable[SecretStr | str] = (),
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        self.message = safe_message(message, secrets)
        self.rate_limit = rate_limit
        super().__init__(self.message)

    def __str__(self) -> str:
        status = f" HTTP {self.status_code}" if self.status_code is not None else ""
        return f"{self.provider}{status}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, "
            f"status_code={self.status_code!r}, message={self.message!r})"
        )


class RateLimited(ProviderError):
    """HTTP 429: slow down. ``retry_after_s`` is the provider's hint, if any."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = 429,
        rate_limit: RateLimitInfo | None = None,
        retry_after_s: float | None = None,
        secrets: Iterable[SecretStr | str] = (),
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            status_code=status_code,
            rate_limit=rate_limit,
            secrets=secrets,
        )
        if retry_after_s is None and rate_limit is not None:
            retry_after_s = rate_limit.suggested_wait_s()
        self.retry_after_s = retry_after_s


class AuthenticationFailed(ProviderError):
    """HTTP 401/403 (or Gemini's 400 ``API_KEY_INVALID``): the key should leave rotation."""


class QuotaExhausted(AuthenticationFailed):
    """The key is out of credit (HTTP 402, OpenAI's 429 ``insufficient_quota``): waiting does
    not help, so like an authentication failure the key should leave rotation."""


class TransientProviderError(ProviderError):
    """5xx, 408, 409, 529 overloaded, timeouts and connection errors: try again later."""

    retryable = True


class PermanentProviderError(ProviderError):
    """400/404/422 and other 4xx: this request will never succeed as sent."""


class MalformedResponse(ProviderError):
    """A 2xx whose body is not what the wire format promises."""


_TRANSIENT_STATUSES = frozenset({408, 409, 425, 529})


def error_for_status(
    status_code: int,
    *,
    provider: str,
    message: str,
    rate_limit: RateLimitInfo | None = None,
    secrets: Iterable[SecretStr | str] = (),
    error_code: str | None = None,
    should_retry: str | None = None,
    retry_after_s: float | None = None,
) -> ProviderError:
    """The exception for a non-2xx status. ``error_code`` is the body's machine-readable code
    (OpenAI ``error.code``); ``should_retry`` is the ``x-should-retry`` header OpenAI and
    Anthropic send, whose ``"true"`` turns an otherwise permanent 4xx into a transient one."""
    secrets = tuple(secrets)
    text = message or f"HTTP {status_code}"

    def make(cls: type[ProviderError]) -> ProviderError:
        return cls(
            text,
            provider=provider,
            status_code=status_code,
            rate_limit=rate_limit,
            secrets=secrets,
        )

    if status_code == 402 or (status_code == 429 and error_code == "insufficient_quota"):
        return make(QuotaExhausted)
    if status_code == 429:
        return RateLimited(
            text,
            provider=provider,
            status_code=status_code,
            rate_limit=rate_limit,
            retry_after_s=retry_after_s,
            secrets=secrets,
        )
    if status_code in (401, 403):
        return make(AuthenticationFailed)
    if status_code >= 500 or status_code in _TRANSIENT_STATUSES:
        return make(TransientProviderError)
    if should_retry is not None and should_retry.strip().lower() == "true":
        return make(TransientProviderError)
    return make(PermanentProviderError)
