"""The HTTP API: keys (hashed), per-key limits in Redis, read routes over PostgreSQL, the
publish route through the producers, Prometheus metrics."""

from __future__ import annotations

from streams.api.app import create_app
from streams.api.keys import ApiKey, UnknownKey, create_key, list_keys, revoke_key
from streams.api.limits import Decision, KeyLimiter
from streams.api.metrics import ApiMetrics

__all__ = [
    "ApiKey",
    "ApiMetrics",
    "Decision",
    "KeyLimiter",
    "UnknownKey",
    "create_app",
    "create_key",
    "list_keys",
    "revoke_key",
]
