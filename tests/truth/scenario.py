"""One scenario with a known truth, run once per test session on the real stack and shared by the
intelligence tests: every group in this process, the simulator as the providers.

- run A: 10 brands × 8 providers × 3 prompts × k = 10, with per-brand knowledge and fact-error
  rates set in the simulator (the truth scores are checked against);
- run B: the same again, nothing changed: a fresh draw from the same truth (the simulator salts
  its draws with the run), so anything flagged is a false flag, and false flags must come at
  about the test's α over the many cells, no more;
- then, at time T: a news effect on brand X (knowledge drops, descriptions turn negative), news
  events published for X and for every other brand (nothing changes for them), and one provider
  switches model version (every answer of it rephrased);
- run C: the same brands again. Correlation must call X an effect, the others no effect (up to
  α), and the switched provider a model version change.

Run ids are fixed, so each session draws the same answers: the statistical assertions are
deterministic, and a change of the code, not the luck of a draw, is what makes them fail."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient
from scipy.stats import binom

from contracts import (
    BRAND_SCORES,
    CORRELATIONS_FOUND,
    NEWS_EVENTS,
    RESPONSES_EMBEDDED,
    RESPONSES_RAW,
    RESPONSES_VALIDATED,
    NewsEvent,
    news_event_id,
)
from producers.domain_file import DomainEntry
from producers.news import publish_events
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.kafka.topic_reader import true_end_offsets
from streams.simulator import load_brands, true_rates
from streams.simulator.config import SimulatorConfig
from streams.validation.facts import load_facts_file
from tests.support.groups import publish_domains, running_groups
from tests.support.kafka import wait_until

GROUPS = ["capture", "provider-calls", "reality-validation", "embedding", "scoring",
          "correlation", "alerts"]
SAMPLES = 10
# Brands no other test publishes (see the offsets in tests/e2e and tests/faults).
DOMAINS = ("honda.com", "kia.com", "pepsico.com", "starbucks.com", "heineken.com", "puma.com",
           "levi.com", "hsbc.com", "paypal.com", "southwest.com")
NEWS_BRAND = "starbucks.com"
QUIET_BRAND = "paypal.com"
SWITCHED = "mistral"
NEW_VERSION = "mistral-large-2509-sim"
TRUTH_PATCH: dict[str, Any] = {
    "brand_knowledge_rates": {"honda.com": {"*": 0.5}, "kia.com": {"*": 0.3},
                              "heineken.com": {"openai": 0.6, "mistral": 0.95}},
    "brand_fact_error_rates": {"puma.com": {"*": 0.3}, "levi.com": {"*": 0.2}},
}
RESTORE_PATCH: dict[str, Any] = {"brand_knowledge_rates": {}, "brand_fact_error_rates": {},
                                 "news_effects": [], "model_version_overrides": {}}
# The three wire formats (OpenAI-compatible, Anthropic, Gemini); five providers keep the local
# embedding work (CPU-bound) within the suite's budget.
PROVIDERS = ["openai", "anthropic", "google", "deepseek", SWITCHED]
RUN_TIMEOUT_S = 300


@dataclass(frozen=True)
class Scenario:
    settings: Settings
    dsn: str
    runs: tuple[uuid.UUID, uuid.UUID, uuid.UUID]  # A, B, C
    started_at: datetime  # before anything of run A was published
    published_at: datetime
    news_event: uuid.UUID
    quiet_event: uuid.UUID  # QUIET_BRAND's
    quiet_events: dict[str, uuid.UUID]  # every brand but NEWS_BRAND -> its event
    # (domain, provider) -> (knowledge rate, fact-error rate) in run A.
    truth: dict[tuple[str, str], tuple[float, float]]


_lock = asyncio.Lock()
_done: Scenario | None = None


def _entries() -> list[DomainEntry]:
    brands = {b.domain: b for b in load_brands()}
    return [DomainEntry(line=i, domain=d, name=brands[d].name, aliases=brands[d].aliases)
            for i, d in enumerate(DOMAINS)]


async def _configure(url: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Through the simulator's admin API, as an operator would."""
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{url}/_sim/config", json=patch, timeout=5)
        response.raise_for_status()
        config: dict[str, Any] = response.json()
        return config


async def _scored(pool: asyncpg.Pool, run_id: uuid.UUID, providers: int) -> None:
    expected = len(DOMAINS) * (providers + 1)

    async def done() -> bool:
        found = await pool.fetchval(
            "SELECT count(*) FROM brand_scores WHERE run_id = $1", run_id)
        return bool(found == expected)

    await wait_until(done, timeout_s=RUN_TIMEOUT_S, what=f"scores of run {run_id}", every_s=0.5)


async def caught_up(bootstrap: str, group: str, topics: list[str], *, timeout_s: float) -> None:
    """Until ``group`` has committed the true end of every partition of ``topics``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    behind: dict[str, tuple[int | None, int]] = {}
    try:
        async def done() -> bool:
            ends = await true_end_offsets(bootstrap, topics)
            committed = await admin.list_consumer_group_offsets(group, partitions=list(ends))
            behind.clear()
            behind.update({f"{tp.topic}[{tp.partition}]": (
                committed[tp].offset if tp in committed else None, end)
                for tp, end in ends.items()
                if not (end == 0 or (tp in committed and committed[tp].offset >= end))})
            return not behind

        try:
            await wait_until(done, timeout_s=timeout_s, what=f"{group} to catch up on {topics}",
                             every_s=0.5)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; (committed, end) behind: {behind}") from None
    finally:
        await admin.close()


async def _publish_news(settings: Settings, published_at: datetime) -> dict[str, uuid.UUID]:
    """An event per brand: a scandal for NEWS_BRAND, news that changes nothing for the rest."""
    headlines = {domain: (f"{domain} names a new chief financial officer", "leadership")
                 for domain in DOMAINS}
    headlines[NEWS_BRAND] = ("Starbucks hit by a data scandal and heavy fines", "scandal")
    events = [
        NewsEvent(event_id=news_event_id(f"https://news.test/{domain}/{published_at.timestamp()}"),
                  domain=domain, headline=headline,
                  url=f"https://news.test/{domain}/{published_at.timestamp()}",
                  source="test wire", published_at=published_at, kind=kind,
                  ingested_at=datetime.now(UTC))
        for domain, (headline, kind) in headlines.items()
    ]
    broker = create_broker(settings)
    async with broker:
        await broker.connect()
        await publish_events(broker, events)
    return {e.domain: e.event_id for e in events}


async def _run(settings: Settings, pool: asyncpg.Pool, name: str) -> uuid.UUID:
    run_id = uuid.uuid5(uuid.NAMESPACE_URL, f"https://domain-runner.test/scenario/{name}")
    started = time.monotonic()
    await publish_domains(settings, _entries(), run_id, samples=SAMPLES)
    await _scored(pool, run_id, len(settings.providers))
    print(f"run {run_id} scored in {time.monotonic() - started:.1f} s")
    return run_id


async def _play(migrated: Settings, simulator: Any) -> Scenario:
    settings = Settings(providers=PROVIDERS, web_presence_checks=False, default_rpm=100_000,
                        default_tpm=100_000_000, correlation={"window_s": 3600.0})
    await load_facts_file(settings)
    dsn = settings.postgres.dsn.get_secret_value()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        config = SimulatorConfig.model_validate(await _configure(simulator.url, TRUTH_PATCH))
        truth = {(d, p): true_rates(p, settings.provider_configs[p].model, config, domain=d,
                                    now=time.time())
                 for d in DOMAINS for p in settings.providers}
        started_at = datetime.now(UTC)
        async with running_groups(GROUPS, settings):
            run_a = await _run(settings, pool, "A")
            run_b = await _run(settings, pool, "B")
            await asyncio.sleep(0.01)  # T strictly after run B was created
            published_at = datetime.now(UTC)
            await _configure(simulator.url, {
                "news_effects": [{"domain": NEWS_BRAND, "after": published_at.timestamp(),
                                  "knowledge_rate": 0.3, "sentiment": "negative"}],
                "model_version_overrides": {SWITCHED: NEW_VERSION},
            })
            events = await _publish_news(settings, published_at)
            run_c = await _run(settings, pool, "C")
            # Each stage commits only after what it published is acknowledged, so once each
            # has caught up, in order, correlation has seen every score.
            bootstrap = settings.kafka.bootstrap
            for group, topics in (
                ("embedding", [RESPONSES_RAW.name]),
                ("reality-validation", [RESPONSES_RAW.name]),
                ("scoring", [RESPONSES_VALIDATED.name, RESPONSES_EMBEDDED.name]),
                ("correlation", [BRAND_SCORES.name, NEWS_EVENTS.name]),
                ("alerts", [BRAND_SCORES.name, CORRELATIONS_FOUND.name]),
            ):
                await caught_up(bootstrap, group, topics, timeout_s=120)
        return Scenario(settings=settings, dsn=dsn, runs=(run_a, run_b, run_c),
                        started_at=started_at,
                        published_at=published_at, news_event=events[NEWS_BRAND],
                        quiet_event=events[QUIET_BRAND],
                        quiet_events={d: e for d, e in events.items() if d != NEWS_BRAND},
                        truth=truth)
    finally:
        await _configure(simulator.url, RESTORE_PATCH)
        await pool.close()


async def scenario(migrated: Settings, simulator: Any) -> Scenario:
    """The scenario, played the first time it is asked for in this session."""
    global _done
    async with _lock:
        if _done is None:
            _done = await _play(migrated, simulator)
        return _done


ALPHA = 0.05  # the level the product documents; written here, not imported from the code


def false_flag_bound(tests: int, alpha: float = ALPHA) -> int:
    """The most false flags that ``tests`` tests at level ``alpha`` give, by the binomial
    distribution, all but once in a thousand draws. A rule that flags more when nothing changed
    is more sensitive than its α says (for instance a z-test run at α = 0.2)."""
    return int(binom.ppf(0.999, tests, alpha))
