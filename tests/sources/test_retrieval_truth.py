"""Memory vs retrieval on the real stack, against the simulator's truth.

A project tracking five airlines is asked in both modes (two twin runs) of six providers, one of
which (DeepSeek) has no web search. Then:

- the retrieval run asks only the five that search, and records DeepSeek's refusal and reason;
- every answered call's provider body is kept;
- each retrieval answer's stored sources (URL, cited or only retrieved, class) and searches are
  the ones the simulator's truth says that call cites;
- a re-extraction from the kept bodies under a new extractor version reproduces every row, and
  one with a changed extractor updates them, both without a single provider call;
- memory vs retrieval visibility per provider and brand carries intervals that cover the true
  difference (the simulator shifts each airline's listing rate by a known lift with search)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import presence_of_element_located
from selenium.webdriver.support.wait import WebDriverWait

from producers.projects import publish_project_run
from streams.api import create_key
from streams.config import Api, Settings
from streams.kafka.broker import create_broker
from streams.projects import apply_project, load_project, parse_project, project_request
from streams.providers.citations import EXTRACTOR_VERSION, extract_retrieval
from streams.simulator import category_truth, load_brands
from streams.simulator.retrieval import grounding_redirect
from streams.sources import classes_from, project_gaps, reextract, sources_report
from streams.urls import canonical_url
from streams.visibility.report import NoProjectRun, project_report
from tests.support.api import serving
from tests.support.browser import chromium
from tests.support.groups import running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack

GROUPS = ["capture", "provider-calls", "visibility", "sources"]
PROVIDERS = ["openai", "anthropic", "google", "xai", "perplexity", "deepseek"]
SEARCHING = PROVIDERS[:5]
SAMPLES = 16
OWN = "lufthansa.com"
COMPETITORS = ("airfrance.com", "britishairways.com", "klm.com", "emirates.com")
PROJECT_FILE = """
name: truth-sources
brand: {domain: lufthansa.com, name: Lufthansa, aliases: [Deutsche Lufthansa]}
competitors:
  - {domain: airfrance.com, name: Air France}
  - {domain: britishairways.com, name: British Airways}
  - {domain: klm.com, name: KLM, aliases: [KLM Royal Dutch Airlines]}
  - {domain: emirates.com, name: Emirates}
prompts:
  - {id: long-haul, text: "Which airlines would you recommend for a long-haul flight?"}
  - {id: short-haul, text: "Which airline is best for short trips within Europe?"}
samples: 16
modes: [memory, retrieval]
"""
# The simulator's names of third-party classes, as the shipped classes file names them.
CLASS_NAMES = {"ugc": "forum_ugc", "news": "news_editorial"}


@pytest.fixture(scope="module")
async def played(migrated: Settings, simulator: Any) -> dict[str, Any]:
    settings = Settings(providers=PROVIDERS, web_presence_checks=False, default_rpm=100_000,
                        default_tpm=100_000_000)
    pool = await asyncpg.create_pool(settings.postgres.dsn.get_secret_value(), min_size=1,
                                     max_size=3)
    assert pool is not None
    run_id = uuid.uuid5(uuid.NAMESPACE_URL, "https://domain-runner.test/sources/run")
    await apply_project(pool, parse_project(PROJECT_FILE, "truth-sources.yaml"),
                        source="tests/sources/test_retrieval_truth.py")
    project = await load_project(pool, "truth-sources")
    async with running_groups(GROUPS, settings):
        broker = create_broker(settings)
        async with broker:
            await broker.connect()
            messages = await publish_project_run(
                broker, project_request(project), run_id=run_id, providers=(),
                samples=SAMPLES, modes=project.spec.modes)
        runs = {m.mode: m.run_id for m in messages}

        async def reported() -> bool:
            try:
                for mode_run in runs.values():
                    await project_report(pool, "truth-sources", mode_run)
            except NoProjectRun:
                return False
            read = await pool.fetchval(
                "SELECT count(*) FROM source_extractions WHERE run_id = $1", runs["retrieval"])
            ok = await pool.fetchval(
                "SELECT count(*) FROM responses WHERE run_id = $1 AND status = 'ok'",
                runs["retrieval"])
            return bool(ok and read == ok)

        await wait_until(reported, timeout_s=300, what="both runs reported, sources read",
                         every_s=0.5)
    yield {"pool": pool, "runs": runs, "settings": settings, "simulator": simulator}
    await pool.close()


async def test_the_twin_runs_and_the_refusal(played: dict[str, Any]) -> None:
    pool, runs = played["pool"], played["runs"]
    rows = {r["mode"]: r for r in await pool.fetch(
        "SELECT run_id, mode, twin_run_id, refused::text, providers FROM runs "
        "WHERE run_id = ANY($1::uuid[])", list(runs.values()))}
    assert rows["memory"]["twin_run_id"] == runs["retrieval"]
    assert rows["retrieval"]["twin_run_id"] == runs["memory"]
    refused = json.loads(rows["retrieval"]["refused"])
    assert set(refused) == {"deepseek"} and "no web search" in refused["deepseek"]
    asked = {r["mode"]: set(r["providers"]) for r in await pool.fetch(
        """SELECT r.mode, array_agg(DISTINCT c.provider) AS providers FROM calls c
           JOIN runs r USING (run_id) WHERE c.run_id = ANY($1::uuid[]) GROUP BY r.mode""",
        list(runs.values()))}
    assert asked == {"memory": set(PROVIDERS), "retrieval": set(SEARCHING)}
    # Every answered call's body is kept, memory and retrieval alike.
    for run_id in runs.values():
        assert await pool.fetchval(
            """SELECT count(*) FROM responses r LEFT JOIN response_bodies b USING (call_id)
               WHERE r.run_id = $1 AND r.status = 'ok' AND b.call_id IS NULL""", run_id) == 0


async def test_each_answers_sources_are_the_truths(played: dict[str, Any]) -> None:
    pool, runs, simulator = played["pool"], played["runs"], played["simulator"]
    calls = await pool.fetch(
        """SELECT c.call_id, c.provider, c.sample, c.request->>'prompt' AS prompt,
                  r.finish_reason, r.web_searches
           FROM calls c JOIN responses r USING (call_id)
           WHERE c.run_id = $1 AND r.status = 'ok'""", runs["retrieval"])
    assert len(calls) == len(SEARCHING) * 2 * SAMPLES
    checked = 0
    for call in calls:
        truth = simulator.retrieval_truth(call["provider"], call["prompt"], call["sample"],
                                          run=str(runs["retrieval"]))
        rows = await pool.fetch(
            """SELECT url, canonical_url, domain, cited, source_class, brand FROM citations
               WHERE call_id = $1 AND extractor_version = $2 ORDER BY ordinal""",
            call["call_id"], EXTRACTOR_VERSION)
        queries = [q["query"] for q in await pool.fetch(
            """SELECT query FROM search_queries WHERE call_id = $1 AND extractor_version = $2
               ORDER BY ordinal""", call["call_id"], EXTRACTOR_VERSION)]
        if call["finish_reason"] == "length":
            continue  # a cut answer keeps only the citations inside its text
        # Gemini cites every page through an opaque redirect; its domain is stated beside it.
        # xAI's body names only the pages its answer cites, not the others its search found.
        want = {canonical_url(grounding_redirect(s.url) if call["provider"] == "google"
                              else s.cited_url if s.cited else s.url): s
                for s in truth.sources if s.cited or call["provider"] != "xai"}
        got = {row["canonical_url"]: row for row in rows}
        assert got.keys() == want.keys(), (call["provider"], call["prompt"])
        for key, row in got.items():
            source = want[key]
            assert row["cited"] == source.cited, key
            assert row["domain"] == source.domain, key
            if source.domain == OWN:
                assert (row["source_class"], row["brand"]) == ("own", OWN)
            elif source.domain in COMPETITORS:
                assert (row["source_class"], row["brand"]) == ("competitor", source.domain)
            elif source.klass not in ("own", "competitor"):
                assert row["source_class"] == CLASS_NAMES.get(source.klass, source.klass), key
        if call["provider"] != "perplexity":  # Perplexity does not say what it searched
            assert queries == list(truth.queries), call["provider"]
        assert call["web_searches"] >= 1
        checked += 1
    assert checked >= 0.9 * len(calls)
    print(f"sources as the truth drew them: {checked} of {len(calls)} retrieval answers checked "
          f"(the others cut by the token limit), every source, status, domain, class and "
          f"search matching")


async def test_reextraction_reproduces_or_updates_without_a_provider_call(
        played: dict[str, Any]) -> None:
    pool, runs, simulator, settings = (played["pool"], played["runs"], played["simulator"],
                                       played["settings"])
    run_id = runs["retrieval"]
    paid_before = simulator.state.stats(run=str(run_id), identities=False)["paid_calls"]
    classes = classes_from(None)
    same = await reextract(pool, run_id, providers=settings.provider_configs, classes=classes,
                           version=EXTRACTOR_VERSION + 100)
    assert same.read == same.answers == len(SEARCHING) * 2 * SAMPLES and not same.unreadable
    assert same.text_reproduced == same.read

    def rows_of(version: int) -> str:
        return """SELECT call_id, ordinal, url, canonical_url, domain, title, cited, spans::text,
                         source_class, brand FROM citations
                  WHERE run_id = $1 AND extractor_version = """ + str(version) + \
               " ORDER BY call_id, ordinal"

    first = [dict(r) for r in await pool.fetch(rows_of(EXTRACTOR_VERSION), run_id)]
    again = [dict(r) for r in await pool.fetch(rows_of(EXTRACTOR_VERSION + 100), run_id)]
    assert first and again == first
    # Once more under the same version: nothing new is stored.
    repeat = await reextract(pool, run_id, providers=settings.provider_configs,
                             classes=classes, version=EXTRACTOR_VERSION + 100)
    assert repeat.stored == 0

    def cited_only(api: Any, payload: Any) -> Any:
        extraction = extract_retrieval(api, payload)
        kept = tuple(s for s in extraction.sources if s.cited)
        return replace(extraction, sources=tuple(replace(s, order=i)
                                                 for i, s in enumerate(kept, 1)))

    changed = await reextract(pool, run_id, providers=settings.provider_configs,
                              classes=classes, version=EXTRACTOR_VERSION + 101,
                              extractor=cited_only)
    updated = await pool.fetch(rows_of(EXTRACTOR_VERSION + 101), run_id)
    assert changed.stored == changed.read
    assert len(updated) == sum(1 for r in first if r["cited"]) < len(first)
    assert all(r["cited"] for r in updated)
    assert simulator.state.stats(run=str(run_id), identities=False)["paid_calls"] == paid_before
    print(f"re-extraction: {same.read} of {same.answers} answers read from kept bodies, "
          f"{len(again)} source rows identical to version {EXTRACTOR_VERSION}'s, text and usage "
          f"parsed again as stored in {same.text_reproduced}; a changed extractor stored "
          f"{len(updated)} rows (cited only) of {len(first)}; provider payments before and "
          f"after: {paid_before}")
    report = await sources_report(pool, run_id)
    whole = report.scope()
    assert whole is not None and whole.answers == same.answers
    assert whole.own_rate.low is not None and whole.domains[0].share.low is not None


async def test_memory_vs_retrieval_intervals_cover_the_true_difference(
        played: dict[str, Any]) -> None:
    pool, runs = played["pool"], played["runs"]
    gaps = [g for g in await project_gaps(pool, runs["memory"])
            if g.metric == "visibility" and g.provider != "all"]
    assert {g.provider for g in gaps} == set(SEARCHING)
    assert {g.brand for g in gaps} == {OWN, *COMPETITORS}
    brands = load_brands()
    covered = 0
    for gap in gaps:
        rates = {mode: next(e.rate for e in category_truth(gap.provider, "airlines", brands,
                                                          mode=mode) if e.domain == gap.brand)
                 for mode in ("memory", "retrieval")}
        true_difference = rates["retrieval"] - rates["memory"]
        assert gap.low is not None and gap.high is not None and gap.p_value is not None
        assert gap.memory.n == gap.retrieval.n == 2 * SAMPLES
        covered += gap.low <= true_difference <= gap.high
    # 95 % intervals: 25 cells, at most a few misses (P(> 7 misses) < 0.001 at 93 % coverage).
    assert covered >= len(gaps) - 7, f"{covered} of {len(gaps)} intervals cover the truth"
    print(f"memory vs retrieval visibility: the 95 % interval of the difference covers the true "
          f"difference in {covered} of {len(gaps)} provider × brand cells; "
          f"{sum(g.significant for g in gaps)} differences significant at α = 0.05")


async def test_the_run_page_in_a_browser_shows_what_the_api_answers(
        played: dict[str, Any], tmp_path: Any) -> None:
    pool, runs = played["pool"], played["runs"]
    key, _ = await create_key(pool, name="sources page test", scope="read")
    settings = Settings(api=Api(per_minute=6000, burst=1000))
    async with serving(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            response = await client.get(f"/v1/runs/{runs['retrieval']}/sources",
                                        headers={"Authorization": f"Bearer {key}"},
                                        params={"top": 200})
        assert response.status_code == 200, response.text
        api = response.json()

        def visit() -> dict[str, Any]:
            with chromium() as browser:
                browser.get(f"{url}/sign-in?next=/runs/{runs['retrieval']}")
                browser.find_element(By.ID, "key").send_keys(key)
                browser.find_element(By.ID, "sign-in").click()
                WebDriverWait(browser, timeout=60, poll_frequency=0.1).until(
                    presence_of_element_located((By.ID, "sources")))
                rows = {row.get_attribute("data-domain"): {
                            cell.get_attribute("data-metric"): cell.get_attribute("data-value")
                            for cell in row.find_elements(By.CSS_SELECTOR, "td[data-metric]")}
                        for row in browser.find_elements(By.CSS_SELECTOR,
                                                         "table#sources tr[data-domain]")}
                gaps = {(row.get_attribute("data-provider"), row.get_attribute("data-brand"))
                        for row in browser.find_elements(By.CSS_SELECTOR,
                                                         "table#mode-gaps tr[data-provider]")}
                plot = browser.find_element(By.ID, "plot-sources").get_attribute("innerHTML")
                assert browser.save_screenshot(str(tmp_path / "sources.png"))
                return {"rows": rows, "gaps": gaps, "plot": plot or ""}

        seen = await asyncio.to_thread(visit)
    whole = next(s for s in api["scopes"] if s["provider"] == "all" and s["prompt_id"] == "all")
    assert seen["rows"] and len(seen["rows"]) == min(25, len(whole["domains"]))
    by_domain = {d["key"]: d for d in whole["domains"]}
    for domain, values in seen["rows"].items():
        assert float(values["citation_share"]) == pytest.approx(
            by_domain[domain]["citation_share"]["value"])
        assert float(values["citation_rate"]) == pytest.approx(
            by_domain[domain]["citation_rate"]["value"])
    assert seen["gaps"] == {(g["provider"], g["brand"]) for g in api["memory_vs_retrieval"]
                            if g["metric"] == "visibility"}
    assert "<svg" in seen["plot"]
