"""A separate process for the budget tests: ``python -m tests.support.limiter_worker SPEC_JSON``.

``{"mode": "reserve", ...}`` makes ``count`` reservations on the shared limiter without sending
anything and prints them; ``{"mode": "call", ...}`` sends ``count`` real calls through
:class:`ProviderCaller` (limiter, breaker, retries) to the provider named in the environment
and prints what came back. Both print one JSON object on the last line."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from typing import Any

from pydantic import SecretStr

from contracts import ProviderCallRequested
from streams.calls.caller import ProviderCaller
from streams.config import Settings
from streams.limiter import KeyLimits, RedisLimiter, Settlement, create_limiter
from streams.providers.types import ProviderKey
from streams.runtime.http import create_http_client
from streams.runtime.redis import create_redis


def _keys(spec: dict[str, Any]) -> dict[str, list[tuple[ProviderKey, KeyLimits]]]:
    keys: dict[str, list[tuple[ProviderKey, KeyLimits]]] = {}
    for provider, index, secret, rpm, tpm, burst, token_burst in spec["keys"]:
        keys.setdefault(provider, []).append(
            (ProviderKey(provider, index, SecretStr(secret)),
             KeyLimits(rpm=rpm, tpm=tpm, burst=burst, token_burst=token_burst)))
    return keys


async def _start_together(spec: dict[str, Any]) -> None:
    """Every worker begins at the same wall-clock moment, so their calls really interleave."""
    delay = float(spec.get("start_at", 0)) - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def reserve(spec: dict[str, Any]) -> dict[str, Any]:
    settings = Settings()
    redis = create_redis(settings, timeout_s=5)
    limiter = RedisLimiter(redis, _keys(spec), max_wait_s=600)
    await _start_together(spec)
    made = []
    for _ in range(spec["count"]):
        reservation = await limiter.reserve(spec["provider"], spec.get("tokens", 1))
        made.append({"key": reservation.key.index, "t_allow_us": reservation.t_allow_us,
                     "wait_s": reservation.wait_s})
        if spec.get("retry_after_s"):
            await limiter.settle(reservation, Settlement(retry_after_s=spec["retry_after_s"]))
    await redis.aclose()
    return {"reservations": made}


async def call(spec: dict[str, Any]) -> dict[str, Any]:
    settings = Settings()
    redis = create_redis(settings, timeout_s=5)
    http = create_http_client(timeout_s=30, backend="aiohttp")
    # DR_LIMITER_KIND picks the shared limiter or the per-process one.
    caller = ProviderCaller(settings, http, create_limiter(settings, redis))
    provider = spec["provider"]
    config = settings.provider_configs[provider]
    run_id = uuid.uuid4()
    requests = [
        ProviderCallRequested(
            call_id=uuid.uuid4(), run_id=run_id, domain=f"worker-{i}.example", name=f"W{i}",
            provider=provider, model=config.model, prompt_id="describe", prompt_version=1,
            prompt=f"What do you know about W{i} (worker-{i}.example)?", sample=0)
        for i in range(spec["count"])
    ]
    await _start_together(spec)
    started_at = time.time()
    started = time.monotonic()
    responses = await asyncio.gather(*(caller.call(r) for r in requests))
    elapsed = time.monotonic() - started
    await http.aclose()
    await redis.aclose()
    return {
        "elapsed_s": elapsed,
        "statuses": Counter(r.status for r in responses),
        "error_types": Counter(r.error_type for r in responses if r.error_type),
        "keys": Counter(r.key_fingerprint for r in responses if r.key_fingerprint),
        "attempts": sum(r.attempts for r in responses),
        "started_at": started_at,
        "finished_at": time.time(),
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = asyncio.run({"reserve": reserve, "call": call}[spec["mode"]](spec))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
