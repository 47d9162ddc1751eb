"""Shared pieces of the budget tests: fresh keys, worker processes, a private simulator."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import SecretStr

from streams.config import PROJECT_ROOT
from streams.limiter import KeyLimits
from streams.providers.types import ProviderKey
from streams.simulator import RunningSimulator, SimulatorConfig, start_simulator

WORKER_TIMEOUT_S = 120.0


def fresh_keys(provider: str, count: int, limits: KeyLimits
               ) -> dict[str, list[tuple[ProviderKey, KeyLimits]]]:
    """Keys no other test has used, so their buckets in the shared Redis start full."""
    return {provider: [
        (ProviderKey(provider, i, SecretStr(f"sk-test-{os.urandom(6).hex()}")), limits)
        for i in range(1, count + 1)
    ]}


def key_spec(keys: dict[str, list[tuple[ProviderKey, KeyLimits]]]) -> list[list[Any]]:
    """The keys as a worker process takes them."""
    return [[k.provider, k.index, k.secret.get_secret_value(), lim.rpm, lim.tpm, lim.burst,
             lim.token_burst] for pairs in keys.values() for k, lim in pairs]


async def run_worker(spec: dict[str, Any], env: dict[str, str] | None = None
                     ) -> tuple[dict[str, Any], str]:
    """Run ``tests.support.limiter_worker`` in its own process; its JSON result and its stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.limiter_worker", json.dumps(spec), cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=WORKER_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise AssertionError(f"worker failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return json.loads(out.decode().strip().splitlines()[-1]), err.decode()


async def run_workers(specs: list[dict[str, Any]], env: dict[str, str] | None = None,
                      *, start_in_s: float = 3.0) -> list[tuple[dict[str, Any], str]]:
    """Several workers at once, all starting their work at the same moment."""
    start_at = time.time() + start_in_s
    return list(await asyncio.gather(
        *(run_worker({**spec, "start_at": start_at}, env) for spec in specs)))


@asynccontextmanager
async def private_simulator(**config: Any) -> AsyncIterator[RunningSimulator]:
    """A simulator of this test's own (limits and revoked keys do not leak into other tests)."""
    sim = await start_simulator(SimulatorConfig(host="127.0.0.1", port=0, **config))
    try:
        yield sim
    finally:
        await sim.stop()


def provider_env(sim: RunningSimulator, provider: str,
                 keys: dict[str, list[tuple[ProviderKey, KeyLimits]]], **extra: str
                 ) -> dict[str, str]:
    """Environment for a process that uses only ``provider``, at ``sim``, with ``keys``."""
    upper = provider.upper()
    env = {"DR_PROVIDERS": json.dumps([provider]),
           f"DR_{upper}_BASE_URL": sim.base_urls()[provider]}
    for key, limits in keys[provider]:
        env[f"{upper}_API_KEY" if key.index == 1 else f"{upper}_API_KEY_{key.index}"] = (
            key.secret.get_secret_value())
        env[f"DR_{upper}_RPM"] = str(limits.rpm)
        env[f"DR_{upper}_TPM"] = str(limits.tpm)
        env[f"DR_{upper}_BURST"] = str(int(limits.burst))
    return {**env, **extra}


async def sim_stats(sim: RunningSimulator, *, identities: bool = False) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{sim.url}/_sim/stats?identities={int(identities)}", timeout=5)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


def throttled(stats: dict[str, Any]) -> int:
    """How many 429s the simulator answered, over every provider and key."""
    return sum(counts.get("429", 0) for keys in stats["by_key"].values()
               for counts in keys.values())
