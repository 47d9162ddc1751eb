"""A project scenario with a known truth, played once per session on the real stack: capture,
provider-calls and visibility in this process, the simulator as the providers, which answers
category prompts from a truth per provider (each airline's listing probability and a preference
order, plus two invented airlines no project tracks).

- run A: 2 prompts × 4 providers × k = 30 samples, the project tracking five airlines;
- run B: the same again, nothing changed (the simulator salts its draws with the run, so B is a
  fresh draw from the same truth): any change flagged is a false flag;
- then the truth changes for one provider: OpenAI lists the project's own brand at another rate;
- run C: the same again. Its OpenAI cells must flag the own brand's visibility.

Run ids are fixed, so each session draws the same answers."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from producers.projects import publish_project_run
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.projects import apply_project, load_project, parse_project, project_request
from streams.simulator import Listed, category_truth, load_brands
from tests.support.groups import running_groups
from tests.support.kafka import wait_until

GROUPS = ["capture", "provider-calls", "visibility"]
PROVIDERS = ["openai", "anthropic", "google", "mistral"]
SAMPLES = 30
OWN = "lufthansa.com"
TRACKED = (OWN, "airfrance.com", "britishairways.com", "klm.com", "emirates.com")
CHANGED_PROVIDER = "openai"
PROJECT_FILE = """
name: truth-airlines
brand: {domain: lufthansa.com, name: Lufthansa, aliases: [Deutsche Lufthansa]}
competitors:
  - {domain: airfrance.com, name: Air France}
  - {domain: britishairways.com, name: British Airways}
  - {domain: klm.com, name: KLM, aliases: [KLM Royal Dutch Airlines]}
  - {domain: emirates.com, name: Emirates}
prompts:
  - {id: long-haul, text: "Which airlines would you recommend for a long-haul flight?",
     topic: long-haul}
  - {id: short-haul, text: "Which airline is best for short trips within Europe?",
     topic: short-haul}
samples: 30
"""
# 2 cells per provider, a roll-up per provider, per topic (2) and over all.
SCOPES = 2 * len(PROVIDERS) + len(PROVIDERS) + 2 + 1
RUN_TIMEOUT_S = 300


@dataclass(frozen=True)
class VisibilityScenario:
    settings: Settings
    dsn: str
    runs: tuple[uuid.UUID, uuid.UUID, uuid.UUID]  # A, B, C
    started_at: datetime
    # provider -> the truth of runs A and B, and of run C
    truth: dict[str, tuple[Listed, ...]]
    changed_truth: dict[str, tuple[Listed, ...]]
    changed_rate: float  # the own brand's new listing rate at CHANGED_PROVIDER


_lock = asyncio.Lock()
_done: VisibilityScenario | None = None


async def configure(url: str, patch: dict[str, Any]) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{url}/_sim/config", json=patch, timeout=5)
        response.raise_for_status()


async def _run(settings: Settings, pool: asyncpg.Pool, name: str) -> uuid.UUID:
    run_id = uuid.uuid5(uuid.NAMESPACE_URL, f"https://domain-runner.test/visibility/{name}")
    started = time.monotonic()
    project = await load_project(pool, "truth-airlines")
    broker = create_broker(settings)
    async with broker:
        await broker.connect()
        await publish_project_run(broker, project_request(project), run_id=run_id,
                                  providers=PROVIDERS, samples=SAMPLES)

    async def scored() -> bool:
        found = await pool.fetchval(
            "SELECT count(*) FROM visibility_scores WHERE run_id = $1", run_id)
        return bool(found == SCOPES * len(TRACKED))

    await wait_until(scored, timeout_s=RUN_TIMEOUT_S, what=f"visibility scores of {name}",
                     every_s=0.5)
    print(f"project run {name} ({run_id}) scored in {time.monotonic() - started:.1f} s")
    return run_id


async def _play(migrated: Settings, simulator: Any) -> VisibilityScenario:
    settings = Settings(providers=PROVIDERS, web_presence_checks=False, default_rpm=100_000,
                        default_tpm=100_000_000)
    dsn = settings.postgres.dsn.get_secret_value()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    brands = load_brands()
    truth = {p: category_truth(p, "airlines", brands) for p in PROVIDERS}
    own_rate = next(entry.rate for entry in truth[CHANGED_PROVIDER] if entry.domain == OWN)
    # A change no test of 30 + 30 samples can miss.
    changed_rate = 0.15 if own_rate >= 0.5 else 0.9
    patch = {"listing_rates": {CHANGED_PROVIDER: {OWN: changed_rate}}}
    changed = {p: category_truth(p, "airlines", brands,
                                 patch["listing_rates"]) for p in PROVIDERS}
    try:
        await apply_project(pool, parse_project(PROJECT_FILE, "truth-airlines.yaml"),
                            source="tests/truth/visibility_scenario.py")
        started_at = datetime.now(UTC)
        async with running_groups(GROUPS, settings):
            run_a = await _run(settings, pool, "A")
            run_b = await _run(settings, pool, "B")
            await configure(simulator.url, patch)
            run_c = await _run(settings, pool, "C")
        return VisibilityScenario(settings=settings, dsn=dsn, runs=(run_a, run_b, run_c),
                                  started_at=started_at, truth=truth, changed_truth=changed,
                                  changed_rate=changed_rate)
    finally:
        await configure(simulator.url, {"listing_rates": {}})
        await pool.close()


async def visibility_scenario(migrated: Settings, simulator: Any) -> VisibilityScenario:
    """The scenario, played the first time it is asked for in this session."""
    global _done
    async with _lock:
        if _done is None:
            _done = await _play(migrated, simulator)
        return _done
