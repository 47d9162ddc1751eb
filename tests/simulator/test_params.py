"""The simulator refuses what each real API refuses, with that API's status and error body.

Requests go over loopback HTTP to an in-process simulator (no Kafka stack); the official SDKs
check that the error bodies are the ones they know how to read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
import pytest_asyncio
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from streams.providers import PROVIDERS, SAMPLE_HEADER
from streams.runs.prompts import PROMPT_SETS
from streams.simulator import ACCEPTED, RunningSimulator

# A prompt of the default set, so the simulator's answers depend on the sample.
TEXT = PROMPT_SETS["default"][0].render(domain="nike.com", name="Nike")
MESSAGES = [{"role": "user", "content": TEXT}]
OPENAI_SHAPED = ["openai", "deepseek", "together", "xai", "perplexity"]


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def valid(provider: str) -> dict[str, Any]:
    """A minimal request each API takes for its default model (a memory one: Sonar searches
    unless told not to)."""
    if provider == "anthropic":
        return {"model": PROVIDERS[provider].model, "max_tokens": 50, "messages": MESSAGES}
    if provider == "google":
        return {"contents": [{"role": "user", "parts": [{"text": TEXT}]}],
                "generationConfig": {"maxOutputTokens": 50}}
    if provider == "perplexity":
        return {"model": PROVIDERS[provider].model, "messages": MESSAGES,
                "disable_search": True}
    return {"model": PROVIDERS[provider].model, "messages": MESSAGES}


async def post(http: httpx.AsyncClient, sim: RunningSimulator, provider: str,
               body: dict[str, Any], **headers: str) -> httpx.Response:
    base = sim.base_urls()[provider]
    if provider == "anthropic":
        url = f"{base}/v1/messages"
        headers = {"x-api-key": "ak", "anthropic-version": "2026-10-21"} | headers
    elif provider == "google":
        url = f"{base}/v1beta/models/{PROVIDERS[provider].model}:generateContent"
        headers = {"x-goog-api-key": "gk"} | headers
    else:
        url = f"{base}/chat/completions"
        headers = {"Authorization": "Bearer sk"} | headers
    return await http.post(url, json=body, headers=headers)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_a_valid_minimal_request_is_answered(sim: RunningSimulator,
                                                   http: httpx.AsyncClient,
                                                   provider: str) -> None:
    assert (await post(http, sim, provider, valid(provider))).status_code == 200


@pytest.mark.parametrize("provider", OPENAI_SHAPED)
async def test_openai_shaped_refusals(sim: RunningSimulator, http: httpx.AsyncClient,
                                      provider: str) -> None:
    unknown = await post(http, sim, provider, valid(provider) | {"frobnicate": True})
    assert unknown.status_code == 400
    assert unknown.json() == {"error": {
        "message": "Unrecognized request argument supplied: frobnicate",
        "type": "invalid_request_error", "param": None, "code": None}}
    mistyped = await post(http, sim, provider, valid(provider) | {"top_p": "high"})
    assert mistyped.status_code == 400
    assert mistyped.json()["error"] == {
        "message": "Invalid type for 'top_p': expected a number, but got a string instead.",
        "type": "invalid_request_error", "param": "top_p", "code": "invalid_type"}
    missing = await post(http, sim, provider, {"model": PROVIDERS[provider].model})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "messages"


@pytest.mark.parametrize(("provider", "seed_field"), [
    ("deepseek", "seed"), ("perplexity", "seed"), ("mistral", "seed"), ("openai", "random_seed"),
])
async def test_a_seed_under_another_name_is_refused(sim: RunningSimulator,
                                                    http: httpx.AsyncClient, provider: str,
                                                    seed_field: str) -> None:
    response = await post(http, sim, provider, valid(provider) | {seed_field: 1})
    assert response.status_code == (422 if provider == "mistral" else 400)


async def test_openai_sdk_reads_the_refusal(sim: RunningSimulator) -> None:
    async with openai.AsyncOpenAI(base_url=sim.base_urls()["openai"], api_key="sk",
                                  max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(model=PROVIDERS["openai"].model,
                                                 messages=MESSAGES,  # type: ignore[arg-type]
                                                 extra_body={"random_seed": 1})
    assert refused.value.status_code == 400 and refused.value.type == "invalid_request_error"


async def test_openai_reasoning_models_refuse_max_tokens_and_temperature(
        sim: RunningSimulator, http: httpx.AsyncClient) -> None:
    body = valid("openai")
    assert PROVIDERS["openai"].model.startswith("gpt-6")
    max_tokens = await post(http, sim, "openai", body | {"max_tokens": 50})
    assert max_tokens.status_code == 400
    assert max_tokens.json()["error"] == {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                   "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}
    temperature = await post(http, sim, "openai", body | {"temperature": 0.7})
    assert temperature.status_code == 400
    assert temperature.json()["error"]["code"] == "unsupported_value"
    assert (await post(http, sim, "openai", body | {"temperature": 1})).status_code == 200
    seeded = await post(http, sim, "openai", body | {"seed": 1})
    assert seeded.status_code == 400 and seeded.json()["error"]["param"] == "seed"
    older = body | {"model": "gpt-4o-mini", "max_tokens": 50, "temperature": 0.7, "seed": 1}
    assert (await post(http, sim, "openai", older)).status_code == 200


async def test_newer_grok_models_refuse_a_seed(sim: RunningSimulator,
                                               http: httpx.AsyncClient) -> None:
    body = valid("xai") | {"seed": 1}
    assert (await post(http, sim, "xai", body)).status_code == 200  # grok-4.3
    refused = await post(http, sim, "xai", body | {"model": "grok-4.6"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == (
        "unsupported_parameter")


async def test_mistral_refusals_are_422_validation_errors(sim: RunningSimulator,
                                                          http: httpx.AsyncClient) -> None:
    mistyped = await post(http, sim, "mistral", valid("mistral") | {"random_seed": "x"})
    assert mistyped.status_code == 422
    assert mistyped.json()["message"]["detail"] == [
        {"type": "int_type", "loc": ["body", "random_seed"],
         "msg": "Input should be a valid integer", "input": "x"}]
    missing = await post(http, sim, "mistral", {"model": PROVIDERS["mistral"].model})
    assert missing.status_code == 422
    assert missing.json()["message"]["detail"][0]["type"] == "missing"


async def test_anthropic_refusals_and_versions(sim: RunningSimulator,
                                               http: httpx.AsyncClient) -> None:
    def error(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 400
        body: dict[str, Any] = response.json()
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
        found: dict[str, Any] = body["error"]
        return found

    body = valid("anthropic")
    assert error(await post(http, sim, "anthropic", body | {"seed": 1}))["message"] == (
        "seed: Extra inputs are not permitted")
    assert error(await post(http, sim, "anthropic", body | {"max_tokens": "50"}))["message"] == (
        "max_tokens: Input should be a valid integer")
    no_max = {key: value for key, value in body.items() if key != "max_tokens"}
    assert error(await post(http, sim, "anthropic", no_max))["message"] == (
        "max_tokens: Field required")
    # 2026-10-21 removed the sampling parameters; 2023-06-01 still takes them.
    sampled = body | {"temperature": 0.7}
    assert error(await post(http, sim, "anthropic", sampled))["message"] == (
        "temperature: Extra inputs are not permitted")
    old = await post(http, sim, "anthropic", sampled, **{"anthropic-version": "2023-06-01"})
    assert old.status_code == 200
    bogus = await post(http, sim, "anthropic", body, **{"anthropic-version": "2099-01-01"})
    assert "anthropic-version" in error(bogus)["message"]
    async with anthropic.AsyncAnthropic(base_url=f"{sim.url}/anthropic", api_key="ak",
                                        max_retries=0) as client:
        with pytest.raises(anthropic.BadRequestError) as refused:
            await client.messages.create(model=PROVIDERS["anthropic"].model, max_tokens=50,
                                         messages=MESSAGES,  # type: ignore[arg-type]
                                         extra_body={"seed": 1})
    assert refused.value.body == {"type": "error", "error": {
        "type": "invalid_request_error", "message": "seed: Extra inputs are not permitted"}}


async def test_gemini_refusals(sim: RunningSimulator, http: httpx.AsyncClient) -> None:
    body = valid("google")
    unknown = await post(http, sim, "google", body | {"seed": 1})
    assert unknown.status_code == 400
    error = unknown.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["message"] == (
        'Invalid JSON payload received. Unknown name "seed": Cannot find field.')
    nested = await post(http, sim, "google",
                        body | {"generationConfig": {"randomSeed": 1}})
    assert nested.status_code == 400
    assert "Unknown name \"randomSeed\" at 'generation_config'" in nested.json()["error"][
        "message"]
    mistyped = await post(http, sim, "google", body | {"generationConfig": {"seed": "one"}})
    assert mistyped.status_code == 400
    assert mistyped.json()["error"]["details"][0]["fieldViolations"][0]["field"] == (
        "generation_config.seed")
    snake = await post(http, sim, "google",
                       body | {"generation_config": {"max_output_tokens": 20, "seed": 2}})
    assert snake.status_code == 200  # proto JSON takes snake_case too
    client = genai.Client(api_key="gk",
                          http_options=genai_types.HttpOptions(base_url=f"{sim.url}/google"))
    with pytest.raises(genai_errors.ClientError) as refused:
        await client.aio.models.generate_content(
            model=PROVIDERS["google"].model, contents=TEXT,
            config=genai_types.GenerateContentConfig(
                http_options=genai_types.HttpOptions(extra_body={"frobnicate": 1})))
    assert refused.value.code == 400 and refused.value.status == "INVALID_ARGUMENT"


def answer(provider: str, response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    if provider == "anthropic":
        return str(body["content"][0]["text"])
    if provider == "google":
        return str(body["candidates"][0]["content"]["parts"][0]["text"])
    return str(body["choices"][0]["message"]["content"])


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_the_sample_reaches_the_simulator_with_or_without_a_seed(
        sim: RunningSimulator, http: httpx.AsyncClient, provider: str) -> None:
    """A seedless API's samples differ by the adapters' header; a seed field wins over it."""
    texts = [answer(provider, await post(http, sim, provider, valid(provider),
                                         **{SAMPLE_HEADER: str(sample)}))
             for sample in range(8)]
    assert len(set(texts)) > 1
    again = await post(http, sim, provider, valid(provider), **{SAMPLE_HEADER: "5"})
    assert answer(provider, again) == texts[5]
    seed = ACCEPTED[provider].seed
    # (Gemini's seed sits in generationConfig; OpenAI's default model refuses one.)
    if seed is not None and provider not in ("google", "openai"):
        pinned = [answer(provider, await post(http, sim, provider, valid(provider) | {seed: 4},
                                              **{SAMPLE_HEADER: str(sample)}))
                  for sample in (0, 1)]
        assert pinned == [texts[4], texts[4]]
