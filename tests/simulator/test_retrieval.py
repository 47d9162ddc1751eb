"""Retrieval mode: the simulator answers each provider's web-search request in that API's shape,
citing exactly what ``retrieval_truth`` says, and refuses what the real APIs refuse.

Requests are the ones the adapters send (``streams.providers.catalog``'s retrieval bodies), over
loopback HTTP to an in-process simulator; the SDK types' view of the same bodies is in
test_sdk_oracle.py."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from streams.providers import PROVIDERS, RUN_HEADER, SAMPLE_HEADER
from streams.runs.prompts import PROMPT_SETS
from streams.simulator import (
    MAX_LISTING_RATE,
    MIN_LISTING_RATE,
    RunningSimulator,
    TrueSource,
    category_answer,
    category_truth,
    default_brands,
    grounding_redirect,
    retrieval_lift,
    retrieval_truth,
)
from streams.simulator.category import RETRIEVAL_LIFT_MAX, RETRIEVAL_LIFT_MIN, Mode
from streams.simulator.sources import PROFILES, SOURCE_CLASSES, THIRD_PARTY
from streams.simulator.state import call_identity

BRANDS = default_brands()
BY_DOMAIN = {brand.domain: brand for brand in BRANDS}
PROMPTS = {p.id: p for p in PROMPT_SETS["default"]}
SEARCHING = ["openai", "xai", "anthropic", "google", "perplexity"]
CATEGORY = "Which airlines would you recommend for a transatlantic flight?"


def brand_prompt(kind: str, domain: str) -> str:
    return PROMPTS[kind].render(domain=domain, name=BY_DOMAIN[domain].name)


# Brand prompts of every kind (their retrieval text is memory's plus citations), category
# prompts of several industries, and one of neither.
BRAND_CASES = [brand_prompt(kind, domain) for domain in ("apple.com", "nike.com", "delta.com")
               for kind in PROMPTS]
CASES = [*BRAND_CASES, CATEGORY, "Which running shoes are best for a marathon?",
         "What are the best CRM tools for a small business?",
         "Which banks have the lowest fees?", "Hello there"]


@pytest.fixture(autouse=True)
def fresh(sim: RunningSimulator) -> Iterator[None]:
    sim.reset(config=True)
    yield
    sim.reset(config=True)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def ask(http: httpx.AsyncClient, sim: RunningSimulator, provider: str, prompt: str,
              sample: int = 0, *, mode: str = "retrieval", max_tokens: int = 2000,
              run: str = "", extra: dict[str, Any] | None = None) -> httpx.Response:
    """The request the adapters send for ``provider`` in ``mode``."""
    headers = {SAMPLE_HEADER: str(sample), RUN_HEADER: run}
    model = PROVIDERS[provider].model
    search = mode == "retrieval"
    if provider in ("openai", "xai") and search:
        body: dict[str, Any] = {"model": model, "input": prompt, "max_output_tokens": max_tokens}
        body["tools"] = [{"type": "web_search"}]
        if provider == "openai":
            body |= {"include": ["web_search_call.action.sources"], "max_tool_calls": 3,
                     "reasoning": {"effort": "low"}}
        url = f"{sim.base_urls()[provider]}/responses"
        headers["Authorization"] = "Bearer sk-test"
    elif provider == "anthropic":
        body = {"model": model, "max_tokens": max_tokens,
                "messages": [{"role": "user", "content": prompt}]}
        if search:
            body["tools"] = [{"type": "web_search_20250305", "name": "web_search",
                              "max_uses": 3}]
        url = f"{sim.base_urls()[provider]}/v1/messages"
        headers |= {"x-api-key": "ak-test", "anthropic-version": "2026-10-21"}
    elif provider == "google":
        body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}],
                "generationConfig": {"maxOutputTokens": max_tokens, "seed": sample}}
        if search:
            body["tools"] = [{"google_search": {}}]
        url = f"{sim.base_urls()[provider]}/v1beta/models/{model}:generateContent"
        headers["x-goog-api-key"] = "gk-test"
    else:
        body = {"model": model, "messages": [{"role": "user", "content": prompt}]}
        body["max_completion_tokens" if provider in ("openai", "xai") else "max_tokens"] = (
            max_tokens)
        if provider == "perplexity" and not search:
            body["disable_search"] = True
        url = f"{sim.base_urls()[provider]}/chat/completions"
        headers["Authorization"] = "Bearer sk-test"
    return await http.post(url, headers=headers, json=body | (extra or {}))


def memory_text(provider: str, body: dict[str, Any]) -> str:
    if provider == "anthropic":
        return str(body["content"][0]["text"])
    if provider == "google":
        return str(body["candidates"][0]["content"]["parts"][0]["text"])
    return str(body["choices"][0]["message"]["content"])


def truth_of(provider: str, prompt: str, sample: int, run: str = "") -> tuple[
        tuple[str, ...], tuple[TrueSource, ...]]:
    truth = retrieval_truth(provider, prompt, sample, BRANDS, salt=run)
    return truth.queries, truth.sources


def names(source: TrueSource) -> tuple[str, ...]:
    brand = BY_DOMAIN.get(source.domain)
    return (brand.name, *brand.aliases, brand.domain) if brand else (source.domain,)


def without(text: str, spans: list[tuple[int, int]], before: str) -> str:
    """``text`` less each span and the separator ``before`` it."""
    for start, end in sorted(spans, reverse=True):
        assert text[start - len(before):start] == before
        text = text[:start - len(before)] + text[end:]
    return text


def line_at(text: str, index: int) -> str:
    return text[text.rfind("\n", 0, index) + 1:text.find("\n", index) % (len(text) + 1)]


# ---- the truth ------------------------------------------------------------------------------

def test_the_truth_is_deterministic_bounded_and_salted() -> None:
    for prompt in CASES:
        for provider in SEARCHING:
            for sample in range(4):
                queries, sources = truth_of(provider, prompt, sample)
                assert (queries, sources) == truth_of(provider, prompt, sample)
                assert 1 <= len(queries) <= 2 and all(queries)
                assert 2 <= len(sources) <= 6
                assert len({s.url for s in sources}) == len(sources)
                assert any(s.cited for s in sources)
                for source in sources:
                    assert source.klass in SOURCE_CLASSES and source.title
                    assert source.url.startswith("https://")
                    assert source.domain == source.url.split("/")[2].removeprefix("www.")
                    assert source.cited_url.startswith(source.url)
                    if source.cited_url != source.url:
                        assert provider == "openai" and source.cited
                        assert source.cited_url.endswith("utm_source=openai")
    # A run is a fresh draw from the same truth.
    runs = {truth_of("openai", CATEGORY, 1, run)[1] for run in ("a", "b", "c", "d")}
    assert len(runs) > 1


def test_the_truth_draws_its_classes_and_cites_some_not_all() -> None:
    seen: dict[str, set[str]] = {provider: set() for provider in SEARCHING}
    retrieved_only = tracked = 0
    for prompt in CASES:
        for provider in SEARCHING:
            for sample in range(12):
                _, sources = truth_of(provider, prompt, sample)
                seen[provider] |= {s.klass for s in sources}
                retrieved_only += sum(not s.cited for s in sources)
                tracked += sum(s.cited_url != s.url for s in sources)
    for provider, classes in seen.items():
        wanted = {klass for klass, share in PROFILES[provider].shares.items() if share > 0}
        assert wanted | {"own", "competitor"} <= classes, provider
    assert retrieved_only > 0 and tracked > 0
    assert set(THIRD_PARTY.values()) <= set(SOURCE_CLASSES)


def test_own_and_competitor_sites_are_classed_by_the_prompt() -> None:
    apple = brand_prompt("describe", "apple.com")
    for provider in SEARCHING:
        for sample in range(20):
            _, sources = truth_of(provider, apple, sample)
            for source in sources:
                if source.klass == "own":
                    assert source.domain == "apple.com"
                if source.klass == "competitor":
                    assert BY_DOMAIN[source.domain].industry == "consumer electronics"
    for sample in range(20):
        category = category_answer("perplexity", CATEGORY, sample, BRANDS, mode="retrieval")
        assert category is not None
        for source in truth_of("perplexity", CATEGORY, sample)[1]:
            assert source.klass != "own"
            if source.klass == "competitor":
                # A category answer cites the competitors it lists.
                assert BY_DOMAIN[source.domain].name in category.listed and source.cited


def test_retrieval_listing_rates_are_the_memory_rates_lifted() -> None:
    lifts = []
    for provider in SEARCHING:
        memory = category_truth(provider, "airlines", BRANDS)
        retrieval = category_truth(provider, "airlines", BRANDS, mode="retrieval")
        assert [e.key for e in memory] == [e.key for e in retrieval]
        for before, after in zip(memory, retrieval, strict=True):
            lift = retrieval_lift(provider, before.key)
            lifts.append(lift)
            assert RETRIEVAL_LIFT_MIN <= lift <= RETRIEVAL_LIFT_MAX
            low, high = min(MIN_LISTING_RATE, before.rate), max(MAX_LISTING_RATE, before.rate)
            assert after.rate == pytest.approx(min(max(before.rate + lift, low), high))
    assert min(lifts) < 0 < max(lifts)
    # Overrides are lifted too, and never pulled back inside the bounds.
    pinned = {"openai": {"delta.com": 0.0, "united.com": 1.0, "aa.com": 0.5}}
    rates = {e.key: e.rate for e in category_truth("openai", "airlines", BRANDS, pinned,
                                                   mode="retrieval")}
    assert 0.0 <= rates["delta.com"] <= MAX_LISTING_RATE and 0.15 <= rates["united.com"] <= 1.0
    assert rates["aa.com"] == pytest.approx(
        min(max(0.5 + retrieval_lift("openai", "aa.com"), MIN_LISTING_RATE), MAX_LISTING_RATE))


def test_retrieval_listing_frequencies_converge_to_the_lifted_truth() -> None:
    samples = 600
    truth = {e.key: e.rate for e in category_truth("google", "airlines", BRANDS,
                                                   mode="retrieval")}
    memory_truth = {e.key: e.rate for e in category_truth("google", "airlines", BRANDS)}
    counts = dict.fromkeys(truth, 0)
    memory_counts = dict.fromkeys(truth, 0)
    by_name = {b.name: b.domain for b in BRANDS}
    tallies: tuple[tuple[Mode, dict[str, int]], ...] = (("retrieval", counts),
                                                        ("memory", memory_counts))
    for sample in range(samples):
        for mode, tally in tallies:
            found = category_answer("google", CATEGORY, sample, BRANDS, mode=mode)
            assert found is not None
            for name in found.listed:
                tally[by_name.get(name, name)] += 1
    for key, rate in truth.items():
        error = 4.5 * math.sqrt(rate * (1 - rate) / samples)
        assert abs(counts[key] / samples - rate) < error, key
        # The measurable memory-vs-retrieval difference is the truth's difference.
        difference = (counts[key] - memory_counts[key]) / samples
        assert abs(difference - (rate - memory_truth[key])) < 2 * error, key


def test_memory_draws_do_not_change() -> None:
    for sample in range(30):
        plain = category_answer("openai", CATEGORY, sample, BRANDS)
        memory = category_answer("openai", CATEGORY, sample, BRANDS, mode="memory")
        assert plain == memory


# ---- each API's shape against the truth -----------------------------------------------------

@pytest.mark.parametrize("sample", [0, 1, 2])
async def test_openai_responses_cite_the_truth(sim: RunningSimulator, http: httpx.AsyncClient,
                                              sample: int) -> None:
    for prompt in CASES:
        response = await ask(http, sim, "openai", prompt, sample)
        assert response.status_code == 200, response.text
        body = response.json()
        queries, sources = truth_of("openai", prompt, sample)
        assert body["object"] == "response" and body["id"].startswith("resp_")
        assert body["status"] == "completed" and body["incomplete_details"] is None
        calls = [item for item in body["output"] if item["type"] == "web_search_call"]
        assert [c["action"]["query"] for c in calls] == list(queries)
        assert all(c["id"].startswith("ws_") and c["status"] == "completed" for c in calls)
        found = [s["url"] for c in calls for s in c["action"]["sources"]]
        assert found == [s.url for s in sources]
        assert body["tool_usage"]["web_search"]["num_requests"] == len(calls)
        (message,) = [item for item in body["output"] if item["type"] == "message"]
        assert message["id"].startswith("msg_") and message["role"] == "assistant"
        (part,) = message["content"]
        text, annotations = part["text"], part["annotations"]
        cited = {s.cited_url: s for s in sources if s.cited}
        assert {a["url"] for a in annotations} == set(cited)
        for annotation in annotations:
            source = cited[annotation["url"]]
            assert annotation["type"] == "url_citation"
            assert annotation["title"] == source.title
            span = text[annotation["start_index"]:annotation["end_index"]]
            assert span == f"([{source.domain}]({source.cited_url}))"
            if source.klass == "competitor":
                assert any(name in line_at(text, annotation["start_index"])
                           for name in names(source))
        usage = body["usage"]
        assert usage["output_tokens"] == math.ceil(len(text) / 4)
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        # Without its citations the text is the engine's answer (a brand prompt's is memory's).
        bare = without(text, [(a["start_index"], a["end_index"]) for a in annotations], " ")
        if prompt in BRAND_CASES:
            assert bare == await _memory_of(http, sim, "openai", prompt, sample)


async def _memory_of(http: httpx.AsyncClient, sim: RunningSimulator, provider: str,
                     prompt: str, sample: int) -> str:
    response = await ask(http, sim, provider, prompt, sample, mode="memory")
    assert response.status_code == 200, response.text
    return memory_text(provider, response.json())


async def test_openai_responses_memory_and_cut(sim: RunningSimulator,
                                              http: httpx.AsyncClient) -> None:
    prompt = brand_prompt("describe", "nike.com")
    plain = await http.post(f"{sim.base_urls()['openai']}/responses",
                            headers={"Authorization": "Bearer sk", SAMPLE_HEADER: "2"},
                            json={"model": PROVIDERS["openai"].model, "input": prompt})
    assert plain.status_code == 200
    body = plain.json()
    assert [item["type"] for item in body["output"]] == ["reasoning", "message"]
    assert body["tool_usage"]["web_search"]["num_requests"] == 0
    assert body["output"][1]["content"][0]["text"] == await _memory_of(
        http, sim, "openai", prompt, 2)
    cut = (await ask(http, sim, "openai", CATEGORY, 3, max_tokens=40)).json()
    assert cut["status"] == "incomplete"
    assert cut["incomplete_details"] == {"reason": "max_output_tokens"}
    part = cut["output"][-1]["content"][0]
    assert len(part["text"]) <= 160
    assert all(a["end_index"] <= len(part["text"]) for a in part["annotations"])


@pytest.mark.parametrize("sample", [0, 1, 2])
async def test_xai_responses_cite_the_truth(sim: RunningSimulator, http: httpx.AsyncClient,
                                           sample: int) -> None:
    for prompt in CASES:
        body = (await ask(http, sim, "xai", prompt, sample)).json()
        queries, sources = truth_of("xai", prompt, sample)
        calls = [item for item in body["output"] if item["type"] == "web_search_call"]
        assert [json.loads(c["arguments"])["query"] for c in calls] == list(queries)
        assert all(c["name"] == "web_search" and c["call_id"] == "" for c in calls)
        usage = body["usage"]
        assert usage["server_side_tool_usage_details"]["web_search_calls"] == len(queries)
        assert usage["num_server_side_tools_used"] == len(queries)
        text = body["output"][-1]["content"][0]["text"]
        annotations = body["output"][-1]["content"][0]["annotations"]
        cited = [s.url for s in sources if s.cited]
        assert sorted({a["url"] for a in annotations}) == sorted(cited)
        numbers: dict[str, int] = {}
        for annotation in sorted(annotations, key=lambda a: a["start_index"]):
            number = numbers.setdefault(annotation["url"], len(numbers) + 1)
            assert annotation["title"] == annotation["url"]
            span = text[annotation["start_index"]:annotation["end_index"]]
            assert span == f"[[{number}]]({annotation['url']})"
        bare = without(text, [(a["start_index"], a["end_index"]) for a in annotations], " ")
        if prompt in BRAND_CASES:
            assert bare == await _memory_of(http, sim, "xai", prompt, sample)
    # Without inline citations: a bare text, and annotations listing what the search found.
    plain = (await ask(http, sim, "xai", CATEGORY, 0,
                       extra={"include": ["no_inline_citations"]})).json()
    part = plain["output"][-1]["content"][0]
    assert "[[" not in part["text"]
    assert [a["url"] for a in part["annotations"]] == [
        s.url for s in truth_of("xai", CATEGORY, 0)[1]]


@pytest.mark.parametrize("sample", [0, 1, 2])
async def test_anthropic_cites_the_truth(sim: RunningSimulator, http: httpx.AsyncClient,
                                        sample: int) -> None:
    for prompt in CASES:
        body = (await ask(http, sim, "anthropic", prompt, sample)).json()
        queries, sources = truth_of("anthropic", prompt, sample)
        uses = [b for b in body["content"] if b["type"] == "server_tool_use"]
        results = [b for b in body["content"] if b["type"] == "web_search_tool_result"]
        assert [b["input"]["query"] for b in uses] == list(queries)
        assert all(b["id"].startswith("srvtoolu_") and b["name"] == "web_search" for b in uses)
        assert [r["tool_use_id"] for r in results] == [b["id"] for b in uses]
        hits = [hit for r in results for hit in r["content"]]
        assert [(h["url"], h["title"]) for h in hits] == [(s.url, s.title) for s in sources]
        assert all(h["type"] == "web_search_result" and h["encrypted_content"] for h in hits)
        assert body["usage"]["server_tool_use"] == {"web_search_requests": len(queries),
                                                    "web_fetch_requests": 0}
        blocks = [b for b in body["content"] if b["type"] == "text"]
        by_url = {s.url: s for s in sources}
        cited_urls = set()
        for block in blocks:
            for citation in block.get("citations", ()):
                source = by_url[citation["url"]]
                cited_urls.add(source.url)
                assert citation["type"] == "web_search_result_location"
                assert citation["title"] == source.title
                assert citation["cited_text"] == source.snippet and citation["encrypted_index"]
                if source.klass == "competitor":
                    assert any(name in block["text"] for name in names(source))
        assert cited_urls == {s.url for s in sources if s.cited}
        text = "".join(b["text"] for b in blocks)
        if prompt in BRAND_CASES:
            assert text == await _memory_of(http, sim, "anthropic", prompt, sample)


async def test_anthropic_max_uses_limits_the_searches(sim: RunningSimulator,
                                                     http: httpx.AsyncClient) -> None:
    prompt = next(p for p in CASES if len(truth_of("anthropic", p, 0)[0]) == 2)
    tool = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}
    body = (await ask(http, sim, "anthropic", prompt, extra={"tools": [tool]})).json()
    uses = [b for b in body["content"] if b["type"] == "server_tool_use"]
    assert len(uses) == 1 and body["usage"]["server_tool_use"]["web_search_requests"] == 1
    hits = [h for b in body["content"] if b["type"] == "web_search_tool_result"
            for h in b["content"]]
    assert [h["url"] for h in hits] == [s.url for s in truth_of("anthropic", prompt, 0)[1]]


@pytest.mark.parametrize("sample", [0, 1, 2])
async def test_gemini_grounds_the_truth(sim: RunningSimulator, http: httpx.AsyncClient,
                                       sample: int) -> None:
    for prompt in CASES:
        body = (await ask(http, sim, "google", prompt, sample)).json()
        queries, sources = truth_of("google", prompt, sample)
        (candidate,) = body["candidates"]
        text = candidate["content"]["parts"][0]["text"]
        meta = candidate["groundingMetadata"]
        assert meta["webSearchQueries"] == list(queries)
        assert all(query in meta["searchEntryPoint"]["renderedContent"] for query in queries)
        chunks = [chunk["web"] for chunk in meta["groundingChunks"]]
        # The real URL hides behind an opaque redirect; the title is the site's domain.
        assert chunks == [{"uri": grounding_redirect(s.url), "title": s.domain}
                          for s in sources]
        assert all(c["uri"].startswith("https://vertexaisearch.cloud.google.com/"
                                       "grounding-api-redirect/") for c in chunks)
        raw = text.encode()
        supported: set[int] = set()
        for support in meta["groundingSupports"]:
            segment = support["segment"]
            start = segment.get("startIndex", 0)
            assert "startIndex" not in segment or start > 0
            assert raw[start:segment["endIndex"]].decode() == segment["text"]
            assert len(support["confidenceScores"]) == len(support["groundingChunkIndices"])
            assert all(0 < score < 1 for score in support["confidenceScores"])
            for index in support["groundingChunkIndices"]:
                supported.add(index)
                if sources[index].klass == "competitor":
                    assert any(name in segment["text"] for name in names(sources[index]))
        assert supported == {i for i, s in enumerate(sources) if s.cited}
        if prompt in BRAND_CASES:
            assert text == await _memory_of(http, sim, "google", prompt, sample)


async def test_gemini_offsets_are_utf8_bytes(sim: RunningSimulator,
                                             http: httpx.AsyncClient) -> None:
    """Some answers hold a non-ASCII character before a cited segment (an en or em dash, a
    curly apostrophe): there byte offsets and code-point offsets differ."""
    found = False
    for prompt in CASES:
        for sample in range(8):
            body = (await ask(http, sim, "google", prompt, sample)).json()
            candidate = body["candidates"][0]
            text = candidate["content"]["parts"][0]["text"]
            for support in candidate["groundingMetadata"]["groundingSupports"]:
                segment = support["segment"]
                start = segment.get("startIndex", 0)
                if len(text.encode()[:start].decode()) != start:
                    found = True
                    assert text[len(text.encode()[:start].decode()):].startswith(
                        segment["text"])
    assert found


@pytest.mark.parametrize("sample", [0, 1, 2])
async def test_perplexity_cites_the_truth(sim: RunningSimulator, http: httpx.AsyncClient,
                                         sample: int) -> None:
    for prompt in CASES:
        body = (await ask(http, sim, "perplexity", prompt, sample)).json()
        _, sources = truth_of("perplexity", prompt, sample)
        assert body["citations"] == [s.cited_url for s in sources]
        results = body["search_results"]
        assert [(r["url"], r["title"]) for r in results] == [(s.url, s.title) for s in sources]
        assert all(r["source"] == "web" and r["snippet"] for r in results)
        assert body["usage"]["search_context_size"] == "low"
        text = body["choices"][0]["message"]["content"]
        markers = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
        assert markers == {i + 1 for i, s in enumerate(sources) if s.cited}
        for match in re.finditer(r"\[(\d+)\]", text):
            source = sources[int(match.group(1)) - 1]
            if source.klass == "competitor":
                assert any(name in line_at(text, match.start()) for name in names(source))
        memory = (await ask(http, sim, "perplexity", prompt, sample, mode="memory")).json()
        assert "citations" not in memory and "search_results" not in memory
        assert "search_context_size" not in memory["usage"]
        if prompt in BRAND_CASES:
            assert re.sub(r"\[\d+\]", "", text) == memory_text("perplexity", memory)


async def test_a_run_salts_the_sources(sim: RunningSimulator, http: httpx.AsyncClient) -> None:
    for run in ("run-a", "run-b"):
        body = (await ask(http, sim, "perplexity", CATEGORY, 2, run=run)).json()
        assert body["citations"] == [s.cited_url for s in truth_of("perplexity", CATEGORY, 2,
                                                                      run)[1]]
        assert sim.retrieval_truth("perplexity", CATEGORY, 2, run) == retrieval_truth(
            "perplexity", CATEGORY, 2, BRANDS, salt=run)


async def test_openai_chat_search_models_annotate_and_others_refuse(
        sim: RunningSimulator, http: httpx.AsyncClient) -> None:
    url = f"{sim.base_urls()['openai']}/chat/completions"
    headers = {"Authorization": "Bearer sk", SAMPLE_HEADER: "1"}
    messages = [{"role": "user", "content": CATEGORY}]
    searched = await http.post(url, headers=headers, json={
        "model": "gpt-4o-search-preview", "messages": messages, "web_search_options": {}})
    assert searched.status_code == 200
    message = searched.json()["choices"][0]["message"]
    _, sources = truth_of("openai", CATEGORY, 1)
    assert {a["url_citation"]["url"] for a in message["annotations"]} == {
        s.cited_url for s in sources if s.cited}
    for annotation in message["annotations"]:
        citation = annotation["url_citation"]
        assert message["content"][citation["start_index"]:citation["end_index"]].startswith(
            "([")
    refused = await http.post(url, headers=headers, json={
        "model": PROVIDERS["openai"].model, "messages": messages, "web_search_options": {}})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "Web search options not supported with this model.")


# ---- the ledger and the admin API -----------------------------------------------------------

async def test_mode_is_part_of_the_call_identity(sim: RunningSimulator,
                                                 http: httpx.AsyncClient) -> None:
    prompt = brand_prompt("describe", "apple.com")
    for mode in ("memory", "retrieval", "retrieval"):
        assert (await ask(http, sim, "anthropic", prompt, 4, mode=mode)).status_code == 200
    paid = (await http.get(f"{sim.url}/_sim/stats")).json()["calls_by_identity"]
    model = PROVIDERS["anthropic"].model
    memory = call_identity("anthropic", model, prompt, 4)
    retrieval = call_identity("anthropic", model, prompt, 4, "retrieval")
    assert paid == {memory: 1, retrieval: 2}
    # A memory identity is the one the ledger had before modes existed.
    assert memory == hashlib.sha256("\x1f".join(
        ("anthropic", model, prompt, "4")).encode()).hexdigest()[:16]


async def test_the_admin_api_tells_the_truth_of_a_call(sim: RunningSimulator,
                                                       http: httpx.AsyncClient) -> None:
    response = await http.post(f"{sim.url}/_sim/truth", json={
        "provider": "openai", "prompt": CATEGORY, "sample": 3, "run": "r1"})
    assert response.status_code == 200
    told = response.json()
    truth = retrieval_truth("openai", CATEGORY, 3, BRANDS, salt="r1")
    assert told["queries"] == list(truth.queries)
    assert [s["url"] for s in told["sources"]] == [s.url for s in truth.sources]
    assert told["identity"] == call_identity("openai", PROVIDERS["openai"].model, CATEGORY, 3,
                                             "retrieval")
    entries = {e["domain"] or e["name"]: e["rate"] for e in told["category"]["entries"]}
    assert entries == {e.key: e.rate for e in category_truth("openai", "airlines", BRANDS,
                                                             mode="retrieval")}
    memory = (await http.post(f"{sim.url}/_sim/truth", json={
        "provider": "openai", "prompt": CATEGORY, "mode": "memory"})).json()
    assert memory["sources"] == [] and memory["category"]["entries"] != told["category"][
        "entries"]
    for bad in ({"provider": "nope", "prompt": "x"}, {"prompt": "x"},
                {"provider": "openai", "prompt": "x", "mode": "both"}, [1]):
        assert (await http.post(f"{sim.url}/_sim/truth", json=bad)).status_code == 400


async def test_listing_overrides_reach_the_retrieval_truth(sim: RunningSimulator,
                                                           http: httpx.AsyncClient) -> None:
    listed = {e.domain for e in category_truth("openai", "airlines", BRANDS) if e.domain}
    sim.configure({"listing_rates": {"openai": dict.fromkeys(listed, 1.0)}})
    body = (await ask(http, sim, "openai", CATEGORY, 0)).json()
    sources = sim.retrieval_truth("openai", CATEGORY, 0).sources
    found = [s["url"] for item in body["output"] if item["type"] == "web_search_call"
             for s in item["action"]["sources"]]
    assert found == [s.url for s in sources]


# ---- refusals -------------------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["openai", "deepseek", "together", "xai", "mistral"])
async def test_chat_completions_refuse_a_web_search_tool(sim: RunningSimulator,
                                                         http: httpx.AsyncClient,
                                                         provider: str) -> None:
    response = await ask(http, sim, provider, CATEGORY, mode="memory",
                         extra={"tools": [{"type": "web_search"}]})
    if provider == "mistral":
        assert response.status_code == 422
        assert response.json() == {
            "object": "error", "message": {"detail": [{
                "type": "literal_error", "loc": ["body", "tools", 0, "type"],
                "msg": "Input should be 'function'", "input": "web_search",
                "ctx": {"expected": "'function'"}}]},
            "type": "invalid_request_error", "param": None, "code": None}
        return
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and "web_search" in error["message"]
    # A function tool is what they take.
    function = {"type": "function", "function": {"name": "lookup", "parameters": {}}}
    taken = await ask(http, sim, provider, CATEGORY, mode="memory", extra={"tools": [function]})
    assert taken.status_code == 200


async def test_anthropic_and_gemini_refuse_other_tools(sim: RunningSimulator,
                                                       http: httpx.AsyncClient) -> None:
    anthropic = await ask(http, sim, "anthropic", CATEGORY,
                          extra={"tools": [{"type": "web_search", "name": "web_search"}]})
    assert anthropic.status_code == 400
    assert anthropic.json()["type"] == "error"
    assert anthropic.json()["error"]["type"] == "invalid_request_error"
    gemini = await ask(http, sim, "google", CATEGORY, extra={"tools": [{"web_search": {}}]})
    assert gemini.status_code == 400 and gemini.json()["error"]["status"] == "INVALID_ARGUMENT"
    camel = await ask(http, sim, "google", CATEGORY, extra={"tools": [{"googleSearch": {}}]})
    assert camel.status_code == 200
    assert "groundingMetadata" in camel.json()["candidates"][0]


HOSTILE_TOOLS: list[Any] = [
    "web_search", 5, [5], ["web_search"], [None], [{}], [{"type": 5}], [{"type": None}],
    [{"type": "function"}], [{"type": "function", "function": "x"}],
    [{"type": "function", "function": {}}], [{"type": "function", "function": {"name": 3}}],
    [{"type": "web_search", "extra": 1}], [{"type": "web_search_20250305"}],
    [{"type": "web_search_20250305", "name": "web_search", "max_uses": "3"}],
    [{"type": "web_search_20250305", "name": "web_search", "max_uses": 0}],
    [{"type": "web_search_20250305", "name": "search"}],
    [{"type": "web_search_20250305", "name": "web_search", "allowed_domains": "x.com"}],
    [{"type": "web_search_20250305", "name": "web_search", "allowed_domains": ["a.com"],
      "blocked_domains": ["b.com"]}],
    [{"name": "f"}], [{"name": "f", "input_schema": "x"}], [{"google_search": []}],
    [{"googleSearch": {"foo": 1}}], [{"google_search_retrieval": {}}], [{"nope": {}}],
    [{"type": "web_search", "search_context_size": "huge"}],
    [{"type": "web_search", "user_location": "here"}], [[]], [{"type": "x_search"}],
]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_hostile_tools_get_the_apis_refusal_never_a_500(
        sim: RunningSimulator, http: httpx.AsyncClient, provider: str) -> None:
    for tools in HOSTILE_TOOLS:
        response = await ask(http, sim, provider, CATEGORY, extra={"tools": tools})
        assert response.status_code in (200, 400, 422), (provider, tools, response.text)
        if response.status_code != 200:
            body = response.json()
            if provider == "mistral":
                assert body["object"] == "error", tools
            elif provider == "anthropic":
                assert body["type"] == "error", tools
            elif provider == "google":
                assert body["error"]["status"] == "INVALID_ARGUMENT", tools
            else:
                assert set(body["error"]) == {"message", "type", "param", "code"}, tools


HOSTILE_RESPONSES: list[dict[str, Any]] = [
    {"include": ["bogus"]}, {"include": [5]}, {"include": "web_search_call.action.sources"},
    {"input": 5}, {"input": ""}, {"input": None}, {"input": [{"role": "user"}]},
    {"max_output_tokens": 5}, {"max_output_tokens": "many"}, {"reasoning": {"effort": "max"}},
    {"reasoning": "low"}, {"seed": 3}, {"temperature": 0.2}, {"tools": [{"type": "mcp"}]},
    {"max_tool_calls": "3"}, {"model": None}, {"frobnicate": True},
]


@pytest.mark.parametrize("provider", ["openai", "xai"])
async def test_hostile_responses_requests_get_400s(sim: RunningSimulator,
                                                   http: httpx.AsyncClient,
                                                   provider: str) -> None:
    for patch in HOSTILE_RESPONSES:
        response = await ask(http, sim, provider, CATEGORY, extra=patch)
        assert response.status_code in (200, 400), (patch, response.text)
        if response.status_code == 400:
            assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    unknown = await ask(http, sim, provider, CATEGORY, extra={"frobnicate": True})
    assert unknown.json()["error"] == {"message": "Unknown parameter: 'frobnicate'.",
                                       "type": "invalid_request_error", "param": "frobnicate",
                                       "code": "unknown_parameter"}
    low = await ask(http, sim, provider, CATEGORY, extra={"max_output_tokens": 5})
    assert low.status_code == 400 and low.json()["error"]["param"] == "max_output_tokens"
    seeded = await ask(http, sim, provider, CATEGORY, extra={"seed": 3})
    assert seeded.status_code == 400
