"""``domain-runner keys``: every configured provider key by fingerprint (never the secret) with
its state in the shared limiter — active or revoked (why, since when) — its limits and its
buckets' current levels."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from streams.config import Settings
from streams.limiter import KeyState, RedisLimiter, provider_limits
from streams.runtime.redis import create_redis


async def key_states(settings: Settings, *, reinstate: str | None = None) -> list[KeyState]:
    """Read (and with ``reinstate``, first put that key back into rotation)."""
    redis = create_redis(settings, timeout_s=5.0)
    try:
        limiter = RedisLimiter(redis, provider_limits(settings),
                               max_wait_s=settings.limiter.max_wait_s)
        if reinstate:
            await limiter.reinstate(reinstate)
        return await limiter.key_states()
    finally:
        await redis.aclose()


def _level(value: float | None) -> str:
    return "∞" if value is None else f"{value:.1f}"


def render_keys(states: list[KeyState], console: Console) -> None:
    table = Table(title="provider keys")
    for column in ("provider", "key", "state", "since", "reason"):
        table.add_column(column, no_wrap=column != "reason")
    for column in ("rpm", "tpm", "burst", "req level", "tok level", "blocked s", "reserved",
                   "429s"):
        table.add_column(column, justify="right", no_wrap=True)
    for s in states:
        rpm = f"{s.header_rpm} (hdr)" if s.header_rpm else str(s.limits.rpm or "∞")
        tpm = f"{s.header_tpm} (hdr)" if s.header_tpm else str(s.limits.tpm or "∞")
        table.add_row(
            s.provider, s.fingerprint,
            "[red]revoked[/]" if s.state == "revoked" else s.state,
            s.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if s.revoked_at else "",
            s.reason or "", rpm, tpm, f"{s.limits.burst:g}", _level(s.requests_level),
            _level(s.tokens_level), f"{s.blocked_for_s:.1f}" if s.blocked_for_s else "",
            str(s.reserved), str(s.throttled),
        )
    console.print(table)
    if not states:
        console.print("no keys configured (<PROVIDER>_API_KEY, <PROVIDER>_API_KEY_2, …)")


def keys_as_json(states: list[KeyState]) -> str:
    rows: list[dict[str, Any]] = [dataclasses.asdict(s) for s in states]
    return json.dumps(rows, default=str)
