"""Pure parsers for the providers' rate-limit header dialects into :class:`RateLimitInfo`.

None of these raise on bad input: a header that cannot be understood is simply ``None``.
``now`` (Unix seconds) is injectable so timestamps become deterministic "seconds from now"."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

from streams.providers.types import RateLimitInfo

_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|h|m|s)")
_GO_DURATION = re.compile(rf"(?:{_GO_DURATION_PART.pattern})+")
_UNIT_SECONDS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0,
}


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _finite_non_negative(value: float) -> float | None:
    return value if math.isfinite(value) and value >= 0 else None


def parse_int(value: str | None) -> int | None:
    """A non-negative integer header (``"60"``; ``"60.0"`` tolerated)."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    checked = _finite_non_negative(number)
    return int(checked) if checked is not None else None


def parse_duration(value: str | None) -> float | None:
    """OpenAI's Go-style durations (``1s``, ``6m0s``, ``120ms``, ``1h2m3.5s``) in seconds;
    a bare number is seconds."""
    if value is None:
        return None
    text = value.strip()
    try:
        return _finite_non_negative(float(text))
    except ValueError:
        pass
    if not text or _GO_DURATION.fullmatch(text) is None:
        return None
    return sum(
        float(amount) * _UNIT_SECONDS[unit] for amount, unit in _GO_DURATION_PART.findall(text)
    )


def parse_rfc3339(value: str | None, *, now: float | None = None) -> float | None:
    """An RFC 3339 timestamp (``2024-05-01T12:00:30Z``) as seconds from now, never negative."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - _now(now))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After``: delay-seconds or an HTTP-date (RFC 9110), as seconds from now."""
    if value is None:
        return None
    text = value.strip()
    try:
        return _finite_non_negative(float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - _now(now))


def parse_retry_after_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> float | None:
    """``retry-after-ms`` (OpenAI, more precise) if present and valid, else ``retry-after``."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            checked = _finite_non_negative(float(milliseconds.strip()))
        except ValueError:
            checked = None
        if checked is not None:
            return checked / 1000.0
    return parse_retry_after(headers.get("retry-after"), now=now)


def parse_openai_headers(headers: Mapping[str, str], *, now: float | None = None) -> RateLimitInfo:
    """``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` with Go-duration resets."""
    return RateLimitInfo(
        limit_requests=parse_int(headers.get("x-ratelimit-limit-requests")),
        remaining_requests=parse_int(headers.get("x-ratelimit-remaining-requests")),
        reset_requests_s=parse_duration(headers.get("x-ratelimit-reset-requests")),
        limit_tokens=parse_int(headers.get("x-ratelimit-limit-tokens")),
        remaining_tokens=parse_int(headers.get("x-ratelimit-remaining-tokens")),
        reset_tokens_s=parse_duration(headers.get("x-ratelimit-reset-tokens")),
        retry_after_s=parse_retry_after_headers(headers, now=now),
    )


_ANTHROPIC_TOKEN_FAMILIES = ("tokens", "input-tokens", "output-tokens")
_ANTHROPIC_FIELDS = ("limit", "remaining", "reset")


def parse_anthropic_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> RateLimitInfo:
    """``anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}`` with RFC 3339 resets.

    Tokens come from the first family present, ``tokens`` before ``input-tokens`` before
    ``output-tokens``; limit, remaining and reset are never mixed across families."""
    prefix = "anthropic-ratelimit-"
    token_family = next(
        (
            family
            for family in _ANTHROPIC_TOKEN_FAMILIES
            if any(f"{prefix}{family}-{field}" in headers for field in _ANTHROPIC_FIELDS)
        ),
        "tokens",
    )
    return RateLimitInfo(
        limit_requests=parse_int(headers.get(f"{prefix}requests-limit")),
        remaining_requests=parse_int(headers.get(f"{prefix}requests-remaining")),
        reset_requests_s=parse_rfc3339(headers.get(f"{prefix}requests-reset"), now=now),
        limit_tokens=parse_int(headers.get(f"{prefix}{token_family}-limit")),
        remaining_tokens=parse_int(headers.get(f"{prefix}{token_family}-remaining")),
        reset_tokens_s=parse_rfc3339(headers.get(f"{prefix}{token_family}-reset"), now=now),
        retry_after_s=parse_retry_after_headers(headers, now=now),
    )


def parse_gemini_headers(headers: Mapping[str, str], *, now: float | None = None) -> RateLimitInfo:
    """Gemini reports no quota headers; only ``retry-after`` (rarely) is honoured. The 429 body's
    ``RetryInfo.retryDelay`` is handled by the Gemini adapter."""
    return RateLimitInfo(retry_after_s=parse_retry_after_headers(headers, now=now))
