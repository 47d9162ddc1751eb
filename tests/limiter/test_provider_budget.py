"""Real calls through ProviderCaller to a simulator that enforces strict per-key limits: several
processes together run at the limit without a 429 (their old per-process limiters do not), a
revoked key leaves rotation for every process, and the circuit breaker opens and recovers."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from typing import Any

import pytest

from contracts import ProviderCallRequested
from streams.calls.caller import ProviderCaller
from streams.config import PROJECT_ROOT, Settings
from streams.limiter import KeyLimits, RedisLimiter, provider_limits
from streams.runtime.http import create_http_client
from streams.runtime.redis import create_redis
from streams.simulator import fingerprint
from tests.support.limiter import (
    fresh_keys,
    private_simulator,
    provider_env,
    run_worker,
    run_workers,
    sim_stats,
    throttled,
)

pytestmark = pytest.mark.stack


def worker_call(count: int, provider: str = "openai") -> dict[str, Any]:
    return {"mode": "call", "provider": provider, "count": count}


async def test_processes_share_the_limit_without_429_unlike_local_limiters(
    stack_env: dict[str, str]
) -> None:
    # The provider allows each key 600 requests/min with a burst of 6; we model it with 3.
    async with private_simulator(latency_ms=20, rpm=600, burst=6) as sim:
        keys = fresh_keys("openai", 2, KeyLimits(rpm=600, tpm=0, burst=3, token_burst=1))
        env = provider_env(sim, "openai", keys)
        results = await run_workers([worker_call(30)] * 3, env)
        stats = await sim_stats(sim)
        assert throttled(stats) == 0
        assert sum(r["statuses"].get("ok", 0) for r, _ in results) == 90
        # 90 calls, 2 keys at 10/s after a burst of 3 each: no faster than the limit allows
        # (from the first worker's start to the last one's end: they may start apart).
        span = (max(r["finished_at"] for r, _ in results)
                - min(r["started_at"] for r, _ in results))
        assert span >= (90 - 6) / 20

        # The same three processes, each limiting itself to the same limits on its own.
        sim.reset()
        fresh = fresh_keys("openai", 2, KeyLimits(rpm=600, tpm=0, burst=3, token_burst=1))
        local = provider_env(sim, "openai", fresh, DR_LIMITER_KIND="local")
        await run_workers([worker_call(30)] * 3, local)
        assert throttled(await sim_stats(sim)) > 0


async def test_a_revoked_key_leaves_rotation_for_every_process(stack_env: dict[str, str]
                                                               ) -> None:
    keys = fresh_keys("openai", 2, KeyLimits(rpm=6000, tpm=0, burst=20, token_burst=1))
    (bad, _), (good, _) = keys["openai"]
    async with private_simulator(revoked_keys=[bad.secret.get_secret_value()]) as sim:
        env = provider_env(sim, "openai", keys)
        first, log = await run_worker(worker_call(20), env)
        assert first["statuses"] == {"ok": 20}
        assert set(first["keys"]) == {good.fingerprint}
        assert f"key {bad.fingerprint} taken out of rotation" in log
        refused = (await sim_stats(sim))["by_key"]["openai"][fingerprint(
            bad.secret.get_secret_value())]["401"]
        assert refused >= 1

        # Another process never sends with the revoked key: it learns of it from Redis.
        second, _ = await run_worker(worker_call(20), env)
        assert second["statuses"] == {"ok": 20} and second["attempts"] == 20
        stats = await sim_stats(sim)
        assert stats["by_key"]["openai"][fingerprint(bad.secret.get_secret_value())]["401"] == (
            refused)

        # `domain-runner keys` reports it by fingerprint, never the secret.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streams.cli", "keys", "--json", cwd=PROJECT_ROOT,
            env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 0, err.decode()
        states = {row["fingerprint"]: row for row in json.loads(out)}
        assert states[bad.fingerprint]["state"] == "revoked"
        assert "AuthenticationFailed" in states[bad.fingerprint]["reason"]
        assert states[bad.fingerprint]["revoked_at"]
        assert states[good.fingerprint]["state"] == "active"
        for key, _ in keys["openai"]:
            assert key.secret.get_secret_value() not in out.decode() + err.decode()


def request(provider: str, i: int, model: str) -> ProviderCallRequested:
    return ProviderCallRequested(
        call_id=uuid.uuid4(), run_id=uuid.uuid4(), domain=f"b{i}.example", name=f"B{i}",
        provider=provider, model=model, prompt_id="describe", prompt_version=1,
        prompt=f"What do you know about B{i}?", sample=0)


async def test_the_circuit_breaker_opens_and_recovers(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with private_simulator() as sim:
        for provider in ("openai", "anthropic"):
            keys = fresh_keys(provider, 1, KeyLimits(rpm=6000, tpm=0, burst=50, token_burst=1))
            for name, value in provider_env(sim, provider, keys).items():
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("DR_PROVIDERS", json.dumps(["openai", "anthropic"]))
        monkeypatch.setenv("DR_BREAKER_FAILURES", "3")
        monkeypatch.setenv("DR_BREAKER_RESET_S", "1.5")
        monkeypatch.setenv("DR_PROVIDER_MAX_ATTEMPTS", "1")
        settings = Settings()
        redis = create_redis(settings, timeout_s=5)
        http = create_http_client(timeout_s=10, backend="aiohttp")
        try:
            caller = ProviderCaller(settings, http, RedisLimiter(
                redis, provider_limits(settings), max_wait_s=60))
            openai = settings.provider_configs["openai"].model
            anthropic = settings.provider_configs["anthropic"].model
            sim.configure({"outage_for_s": {"openai": 2.5}})
            outcomes = [await caller.call(request("openai", i, openai)) for i in range(3)]
            assert [r.error_type for r in outcomes] == ["TransientProviderError"] * 3
            sent = (await sim_stats(sim))["by_provider"]["openai"]["requests"]
            # Open: fails fast without calling the provider...
            fast = await caller.call(request("openai", 3, openai))
            assert fast.error_type == "CircuitOpen"
            assert (await sim_stats(sim))["by_provider"]["openai"]["requests"] == sent
            # ...while the other providers go on.
            assert (await caller.call(request("anthropic", 0, anthropic))).status == "ok"
            # After the cool-down one probe goes out; the outage still lasts, so it opens again.
            await asyncio.sleep(1.6)
            assert (await caller.call(request("openai", 4, openai))).error_type == (
                "TransientProviderError")
            assert (await caller.call(request("openai", 5, openai))).error_type == "CircuitOpen"
            # The outage is over: the next probe succeeds and closes the breaker.
            await asyncio.sleep(1.6)
            assert (await caller.call(request("openai", 6, openai))).status == "ok"
            assert caller.breakers["openai"].state == "closed"
            assert (await caller.call(request("openai", 7, openai))).status == "ok"
        finally:
            await http.aclose()
            await redis.aclose()
