"""The provider simulator served for real on a loopback port and called over HTTP."""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx
import pytest
import pytest_asyncio

from streams.providers import RUN_HEADER, SAMPLE_HEADER
from streams.providers.catalog import PROVIDERS
from streams.runs.prompts import PROMPT_SETS
from streams.simulator import (
    AnswerEngine,
    RunningSimulator,
    default_brands,
    fingerprint,
    load_brands,
    true_rates,
)
from streams.simulator.wire import go_duration

PROMPTS = {p.id: p for p in PROMPT_SETS["default"]}
OPENAI_WIRE = [name for name, spec in PROVIDERS.items() if spec.wire == "openai"]
UNKNOWN_PREFIX = "I don't have any reliable information about"


def prompt(kind: str, domain: str = "apple.com", name: str = "Apple") -> str:
    return PROMPTS[kind].render(domain=domain, name=name)


@pytest.fixture(autouse=True)
def fresh(sim: RunningSimulator) -> Iterator[None]:
    sim.reset(config=True)
    yield
    sim.reset(config=True)


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        yield http


# Each API's own seed field for its default model; seedless ones get the sample from the
# adapters' header only.
SEED_FIELD = {"openai": None, "together": "seed", "xai": "seed", "mistral": "random_seed",
              "deepseek": None, "perplexity": None}


def chat_body(provider: str, text: str, seed: int, max_tokens: int) -> dict[str, Any]:
    """A request the provider's real API takes for its default model."""
    body: dict[str, Any] = {"model": PROVIDERS[provider].model,
                            "messages": [{"role": "user", "content": text}]}
    if provider in ("openai", "xai"):  # reasoning models: no max_tokens, OpenAI's no temperature
        body["max_completion_tokens"] = max_tokens
    else:
        body["max_tokens"] = max_tokens
    if provider != "openai":
        body["temperature"] = 0.7
    if (field := SEED_FIELD[provider]) is not None:
        body[field] = seed
    if provider == "perplexity":  # Sonar searches unless told not to (test_retrieval.py)
        body["disable_search"] = True
    return body


async def openai_call(http: httpx.AsyncClient, sim: RunningSimulator, text: str, *,
                      provider: str = "openai", key: str | None = "sk-test", seed: int = 0,
                      max_tokens: int = 400, run: str = "") -> httpx.Response:
    headers = {SAMPLE_HEADER: str(seed), RUN_HEADER: run}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return await http.post(f"{sim.base_urls()[provider]}/chat/completions", headers=headers,
                           json=chat_body(provider, text, seed, max_tokens))


async def anthropic_call(http: httpx.AsyncClient, sim: RunningSimulator, text: str, *,
                         key: str | None = "ak-test", sample: int = 0,
                         version: str | None = "2026-10-21") -> httpx.Response:
    headers = {SAMPLE_HEADER: str(sample)}
    if key is not None:
        headers["x-api-key"] = key
    if version is not None:
        headers["anthropic-version"] = version
    return await http.post(
        f"{sim.base_urls()['anthropic']}/v1/messages", headers=headers,
        json={"model": PROVIDERS["anthropic"].model, "max_tokens": 400,
              "messages": [{"role": "user", "content": text}]})


async def gemini_call(http: httpx.AsyncClient, sim: RunningSimulator, text: str, *,
                      key: str | None = "gk-test", seed: int = 0,
                      in_query: bool = False) -> httpx.Response:
    model = PROVIDERS["google"].model
    url = f"{sim.base_urls()['google']}/v1beta/models/{model}:generateContent"
    headers: dict[str, str] = {}
    if key is not None and in_query:
        url += f"?key={key}"
    elif key is not None:
        headers["x-goog-api-key"] = key
    return await http.post(url, headers=headers, json={
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "generationConfig": {"maxOutputTokens": 400, "temperature": 0.7, "seed": seed}})


async def admin(http: httpx.AsyncClient, sim: RunningSimulator, patch: dict[str, Any],
                ) -> dict[str, Any]:
    response = await http.post(f"{sim.url}/_sim/config", json=patch)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def stats(http: httpx.AsyncClient, sim: RunningSimulator) -> dict[str, Any]:
    result: dict[str, Any] = (await http.get(f"{sim.url}/_sim/stats")).json()
    return result


# ---- wire formats -------------------------------------------------------------------------

@pytest.mark.parametrize("provider", OPENAI_WIRE)
async def test_openai_wire_shape(sim: RunningSimulator, client: httpx.AsyncClient,
                                 provider: str) -> None:
    text = prompt("describe")
    response = await openai_call(client, sim, text, provider=provider)
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"].startswith(PROVIDERS[provider].model)
    assert body["model"] != PROVIDERS[provider].model  # a pinned version is reported
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    usage = body["usage"]
    assert usage["prompt_tokens"] == math.ceil(len(text) / 4)
    assert usage["completion_tokens"] == math.ceil(len(choice["message"]["content"]) / 4)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_anthropic_wire_shape(sim: RunningSimulator, client: httpx.AsyncClient) -> None:
    text = prompt("facts")
    response = await anthropic_call(client, sim, text)
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("msg_")
    assert (body["type"], body["role"]) == ("message", "assistant")
    assert body["model"] == PROVIDERS["anthropic"].model
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    (block,) = body["content"]
    assert block["type"] == "text"
    json.loads(block["text"])  # the facts prompt gets JSON
    assert body["usage"] == {"input_tokens": math.ceil(len(text) / 4),
                             "output_tokens": math.ceil(len(block["text"]) / 4)}

    missing_version = await anthropic_call(client, sim, text, version=None)
    assert missing_version.status_code == 400
    assert missing_version.json()["type"] == "error"
    assert missing_version.json()["error"]["type"] == "invalid_request_error"


async def test_gemini_wire_shape(sim: RunningSimulator, client: httpx.AsyncClient) -> None:
    text = prompt("recommend")
    response = await gemini_call(client, sim, text)
    assert response.status_code == 200
    body = response.json()
    (candidate,) = body["candidates"]
    assert candidate["finishReason"] == "STOP" and candidate["index"] == 0
    assert candidate["content"]["role"] == "model"
    answer = candidate["content"]["parts"][0]["text"]
    assert len(answer.splitlines()) == 5
    usage = body["usageMetadata"]
    assert usage["promptTokenCount"] == math.ceil(len(text) / 4)
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert body["modelVersion"].startswith(PROVIDERS["google"].model)

    by_query = await gemini_call(client, sim, text, in_query=True)
    assert by_query.status_code == 200
    assert by_query.json()["candidates"] == body["candidates"]


async def test_max_tokens_truncates(sim: RunningSimulator, client: httpx.AsyncClient) -> None:
    response = await openai_call(client, sim, prompt("facts"), max_tokens=5)
    body = response.json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] <= 5
    assert len(body["choices"][0]["message"]["content"]) <= 20


async def test_model_version_override(sim: RunningSimulator, client: httpx.AsyncClient) -> None:
    model = PROVIDERS["openai"].model
    before = (await openai_call(client, sim, prompt("describe"))).json()["model"]
    assert before == f"{model}-2024-07-18"
    await admin(client, sim, {"model_version_overrides": {"openai": f"{model}-2099-01-01"}})
    after = (await openai_call(client, sim, prompt("describe"))).json()["model"]
    assert after == f"{model}-2099-01-01"


# ---- answers and truth --------------------------------------------------------------------

async def test_same_request_same_answer(sim: RunningSimulator,
                                        client: httpx.AsyncClient) -> None:
    texts = set()
    for seed in (1, 1, 2, 3, 4, 5):
        body = (await openai_call(client, sim, prompt("describe"), seed=seed)).json()
        texts.add(body["choices"][0]["message"]["content"])
    first = (await openai_call(client, sim, prompt("describe"), seed=1)).json()
    again = (await openai_call(client, sim, prompt("describe"), seed=1)).json()
    assert first["choices"] == again["choices"]
    assert len(texts) > 1  # samples differ


@pytest.mark.parametrize("provider", ["openai", "mistral"])
async def test_known_rate_converges(sim: RunningSimulator, client: httpx.AsyncClient,
                                    provider: str) -> None:
    samples = 200
    known = 0
    for seed in range(samples):
        response = await openai_call(client, sim, prompt("describe", "nike.com", "Nike"),
                                     provider=provider, seed=seed)
        content = response.json()["choices"][0]["message"]["content"]
        if not content.startswith(UNKNOWN_PREFIX):
            known += 1
            assert "Nike" in content or "Blue Ribbon Sports" in content
        else:
            assert "Nike" not in content
    rate, _ = true_rates(provider)
    # ±4.5 standard errors of a binomial proportion over 200 samples.
    assert abs(known / samples - rate) < 4.5 * math.sqrt(rate * (1 - rate) / samples)


def test_engine_states_truth_and_controlled_errors() -> None:
    engine = AnswerEngine(default_brands())
    apple = next(b for b in engine.brands if b.domain == "apple.com")

    def ask(kind: str, knowledge: float, errors: float, sample: int = 7) -> str:
        return engine.answer(model="m", prompt=prompt(kind), sample=sample,
                             knowledge_rate=knowledge, fact_error_rate=errors).text

    describe = ask("describe", 1.0, 0.0)
    assert "1976" in describe and "United States" in describe
    assert "consumer electronics" in describe
    assert json.loads(ask("facts", 1.0, 0.0))["founded"] == 1976
    assert "Apple" in ask("recommend", 1.0, 0.0)

    assert ask("describe", 0.0, 0.0) == f"{UNKNOWN_PREFIX} apple.com."
    assert set(json.loads(ask("facts", 0.0, 0.0)).values()) == {None}
    unknown_list = ask("recommend", 0.0, 0.0).splitlines()
    assert len(unknown_list) == 5 and all("Apple" not in line for line in unknown_list)

    # Over many samples the share of wrong facts converges to fact_error_rate.
    wrong: Counter[str] = Counter()
    samples = 3000
    for sample in range(samples):
        stated = engine.stated_facts(apple, "m", sample, 0.2)
        wrong["founded"] += stated.founded != apple.founded
        wrong["country"] += stated.headquarters_country != apple.headquarters_country
        wrong["industry"] += stated.industry != apple.industry
        assert 1 <= abs(stated.founded - apple.founded) <= 15 or stated.founded == apple.founded
    for count in wrong.values():
        assert abs(count / samples - 0.2) < 0.04


def test_unknown_prompt_and_unknown_domain() -> None:
    engine = AnswerEngine(default_brands())
    generic = engine.answer(model="m", prompt="Hello there", sample=0, knowledge_rate=1.0,
                            fact_error_rate=0.0)
    assert generic.kind is None and generic.known is None and generic.text
    outside = engine.answer(model="m", prompt=prompt("describe", "no-such-brand.example", "X"),
                            sample=0, knowledge_rate=1.0, fact_error_rate=0.0)
    assert outside.text == f"{UNKNOWN_PREFIX} no-such-brand.example."
    # The longest known domain wins (www. prefix and a shorter embedded domain).
    found = engine.find_domain("see https://www.nissan-global.com/ and hm.com")
    assert found[1] is not None and found[1].domain == "nissan-global.com"


def test_brand_list() -> None:
    brands = load_brands()
    assert len(brands) >= 180
    assert len({b.domain for b in brands}) == len(brands)
    industries = Counter(b.industry for b in brands)
    assert len(industries) >= 12 and min(industries.values()) >= 8
    for brand in brands:
        assert brand.domain == brand.domain.lower() and not brand.domain.startswith("www.")
        assert 1600 < brand.founded <= 2025 and brand.headquarters_country


# ---- auth, limits, outages, errors --------------------------------------------------------

async def test_missing_key_is_401(sim: RunningSimulator, client: httpx.AsyncClient) -> None:
    openai = await openai_call(client, sim, prompt("describe"), key=None)
    assert openai.status_code == 401 and "error" in openai.json()
    anthropic = await anthropic_call(client, sim, prompt("describe"), key=None)
    assert anthropic.status_code == 401
    assert anthropic.json()["error"]["type"] == "authentication_error"
    gemini = await gemini_call(client, sim, prompt("describe"), key=None)
    assert gemini.status_code == 401 and gemini.json()["error"]["status"] == "UNAUTHENTICATED"


async def test_revoked_key(sim: RunningSimulator, client: httpx.AsyncClient) -> None:
    secret = "revoked-secret-key"
    shown = await admin(client, sim, {"revoked_keys": [secret]})
    assert shown["revoked_keys"] == [fingerprint(secret)]
    assert (await openai_call(client, sim, prompt("describe"), key=secret)).status_code == 401
    anthropic = await anthropic_call(client, sim, prompt("describe"), key=secret)
    assert anthropic.status_code == 401
    gemini = await gemini_call(client, sim, prompt("describe"), key=secret)
    assert gemini.status_code == 403 and gemini.json()["error"]["status"] == "PERMISSION_DENIED"
    assert (await openai_call(client, sim, prompt("describe"), key="other")).status_code == 200

    raw = (await client.get(f"{sim.url}/_sim/stats")).text
    assert secret not in raw
    assert json.loads(raw)["by_key"]["openai"][fingerprint(secret)]["401"] == 1


async def test_rate_limit(sim: RunningSimulator, client: httpx.AsyncClient) -> None:
    await admin(client, sim, {"rpm": 60, "burst": 2})
    responses = [await openai_call(client, sim, prompt("describe"), seed=i) for i in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    first, _, limited = responses
    assert first.headers["x-ratelimit-limit-requests"] == "60"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["x-ratelimit-remaining-requests"] == "0"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    # Limits are per key.
    assert (await openai_call(client, sim, prompt("describe"), key="k2")).status_code == 200

    anthropic = [await anthropic_call(client, sim, prompt("describe")) for _ in range(3)]
    assert [r.status_code for r in anthropic] == [200, 200, 429]
    assert anthropic[0].headers["anthropic-ratelimit-requests-remaining"] == "1"
    assert anthropic[0].headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    assert anthropic[2].json()["error"]["type"] == "rate_limit_error"

    gemini = [await gemini_call(client, sim, prompt("describe")) for _ in range(3)]
    assert [r.status_code for r in gemini] == [200, 200, 429]
    assert gemini[2].json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert int(gemini[2].headers["retry-after"]) >= 1

    counts = (await stats(client, sim))["by_provider"]
    assert {p: counts[p]["429"] for p in ("openai", "anthropic", "google")} == {
        "openai": 1, "anthropic": 1, "google": 1}


async def test_tokens_per_minute(sim: RunningSimulator, client: httpx.AsyncClient) -> None:
    await admin(client, sim, {"tpm": 1000})
    first = await openai_call(client, sim, prompt("describe"), max_tokens=400)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-tokens"] == "1000"
    second = await openai_call(client, sim, prompt("describe"), max_tokens=400)
    third = await openai_call(client, sim, prompt("describe"), max_tokens=400)
    assert (second.status_code, third.status_code) == (200, 429)


async def test_outage_and_recovery(sim: RunningSimulator, client: httpx.AsyncClient) -> None:
    await admin(client, sim, {"outage_for_s": {"openai": 0.5}})
    down = await openai_call(client, sim, prompt("describe"))
    assert down.status_code == 503 and down.json()["error"]["type"] == "server_error"
    assert (await anthropic_call(client, sim, prompt("describe"))).status_code == 200
    async with asyncio.timeout(5):
        while (await openai_call(client, sim, prompt("describe"))).status_code == 503:
            await asyncio.sleep(0.1)

    await admin(client, sim, {"outage_for_s": {"*": 60}})
    gemini = await gemini_call(client, sim, prompt("describe"))
    assert gemini.status_code == 503 and gemini.json()["error"]["status"] == "UNAVAILABLE"
    await admin(client, sim, {"outage_for_s": {"*": 0}})
    assert (await gemini_call(client, sim, prompt("describe"))).status_code == 200


async def test_injected_errors_let_retries_succeed(sim: RunningSimulator,
                                                   client: httpx.AsyncClient) -> None:
    await admin(client, sim, {"error_rate": 0.5})
    statuses: Counter[int] = Counter()
    for seed in range(40):
        for _attempt in range(20):
            response = await openai_call(client, sim, prompt("facts"), seed=seed)
            statuses[response.status_code] += 1
            if response.status_code == 200:
                break
            assert response.status_code in (500, 503)
        else:
            pytest.fail(f"seed {seed} never succeeded")
    assert statuses[200] == 40 and statuses[500] + statuses[503] > 5


async def test_stats_and_identities(sim: RunningSimulator, client: httpx.AsyncClient) -> None:
    await openai_call(client, sim, prompt("describe"), seed=1)
    await openai_call(client, sim, prompt("describe"), seed=1)  # a paid duplicate
    await openai_call(client, sim, prompt("describe"), seed=2)
    await openai_call(client, sim, prompt("describe"), key=None)
    await anthropic_call(client, sim, prompt("describe"), sample=1)
    data = await stats(client, sim)
    assert data["total_requests"] == 5
    assert data["by_provider"]["openai"]["requests"] == 4
    assert data["by_provider"]["openai"]["ok"] == 3
    assert data["by_provider"]["openai"]["401"] == 1
    assert data["by_key"]["openai"][fingerprint("sk-test")]["ok"] == 3
    assert sorted(data["calls_by_identity"].values()) == [1, 1, 2]
    assert data["duplicates"] == 1 and data["paid_calls"] == 4
    assert all(len(identity) == 16 for identity in data["calls_by_identity"])

    # Two runs asking the same question pay for the same identity; each run's ledger is its own.
    await openai_call(client, sim, prompt("describe"), seed=1, run="run-a")
    await openai_call(client, sim, prompt("describe"), seed=1, run="run-b")
    await openai_call(client, sim, prompt("describe"), seed=1, run="run-b")
    runs = [(await client.get(f"{sim.url}/_sim/stats", params={"run": run})).json()
            for run in ("run-a", "run-b", "run-c")]
    assert [sorted(r["calls_by_identity"].values()) for r in runs] == [[1], [2], []]
    assert (await stats(client, sim))["calls_by_identity"] != runs[1]["calls_by_identity"]

    assert (await client.post(f"{sim.url}/_sim/reset")).status_code == 200
    cleared = await stats(client, sim)
    assert cleared["total_requests"] == 0 and cleared["calls_by_identity"] == {}


async def test_bad_config_patch_is_rejected(sim: RunningSimulator,
                                            client: httpx.AsyncClient) -> None:
    for patch in ({"no_such_field": 1}, {"error_rate": 2}, {"outage_for_s": {"nope": 5}}):
        response = await client.post(f"{sim.url}/_sim/config", json=patch)
        assert response.status_code == 400, patch
    assert (await client.get(f"{sim.url}/_sim/config")).json()["error_rate"] == 0.0


async def test_sustains_concurrent_load(sim: RunningSimulator) -> None:
    """2,000 requests from 32 concurrent clients all answered. How fast is a figure, measured by
    ``benchmarks/simulator.py``, not a bound in a test a busy machine could break."""
    texts = [prompt(kind, b.domain, b.name) for b in default_brands()[:50] for kind in PROMPTS]
    url = f"{sim.base_urls()['openai']}/chat/completions"
    total, concurrency = 2000, 32
    statuses: list[int] = []
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as http:

        async def worker(offset: int) -> None:
            for i in range(offset, total, concurrency):
                payload = {"model": "gpt-4o-mini", "seed": i,
                           "messages": [{"role": "user", "content": texts[i % len(texts)]}]}
                async with http.post(url, json=payload,
                                     headers={"Authorization": "Bearer sk-load"}) as response:
                    statuses.append(response.status)
                    await response.read()

        async with asyncio.timeout(120):
            await asyncio.gather(*(worker(offset) for offset in range(concurrency)))
    assert statuses == [200] * total


def test_duration_format() -> None:
    assert go_duration(0.12) == "120ms"
    assert go_duration(1) == "1s"
    assert go_duration(360) == "6m0s"
    assert go_duration(1.5) == "1.5s"
