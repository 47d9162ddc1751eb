"""The providers' official SDKs as an oracle independent of our adapters and our simulator.

- The SDKs' own clients call the simulator over loopback HTTP and parse its answers with their
  response models: the simulator speaks each wire format as the SDKs understand it, down to
  field names (no field a model does not know is left over).
- The adapters' request bodies use only parameters the SDKs' request types declare (Mistral's
  ``ChatCompletionRequest``, OpenAI's ``CompletionCreateParams``, Anthropic's
  ``MessageCreateParams``, google-genai's ``GenerationConfig``), and the simulator's parameter
  tables name nothing the SDKs do not know.
- Each adapter's request is answered by the simulator, which refuses what the real API refuses.

No Kafka, PostgreSQL or Redis: the simulator runs in-process on a free loopback port."""

from __future__ import annotations

import json
import re
from typing import Any

import anthropic
import httpx
import openai
import pytest
from anthropic.types import Message, message_create_params
from google import genai
from google.genai import types as genai_types
from mistralai.client import Mistral
from mistralai.client import models as mistral_models
from openai.types.chat import ChatCompletion, completion_create_params
from openai.types.responses import Response, response_create_params
from openai.types.responses.response_output_text import AnnotationURLCitation
from pydantic import BaseModel, SecretStr

from streams.providers import PROVIDERS, CompletionRequest, ProviderError, adapter_for
from streams.providers.citations import extract_retrieval
from streams.providers.types import ProviderConfig, ProviderKey
from streams.runs.prompts import PROMPT_SETS
from streams.runtime.http import create_http_client
from streams.simulator import ACCEPTED, RunningSimulator
from streams.simulator.params import GEMINI_GENERATION_CONFIG, RESPONSES
from streams.urls import canonical_url

OPENAI_PARAMS = set(completion_create_params.CompletionCreateParamsNonStreaming.__optional_keys__
                    | completion_create_params.CompletionCreateParamsNonStreaming.__required_keys__)
ANTHROPIC_PARAMS = set(message_create_params.MessageCreateParamsNonStreaming.__optional_keys__
                       | message_create_params.MessageCreateParamsNonStreaming.__required_keys__)
RESPONSES_PARAMS = set(
    response_create_params.ResponseCreateParamsNonStreaming.__optional_keys__
    | response_create_params.ResponseCreateParamsNonStreaming.__required_keys__)
MISTRAL_PARAMS = set(mistral_models.ChatCompletionRequest.model_fields)
GEMINI_CONFIG_PARAMS = set(genai_types.GenerationConfig.model_fields)
# Provider parameters the OpenAI SDK passes through extra_body, as their docs say to.
EXTRA_BODY = {"deepseek": {"thinking"}, "perplexity": {"disable_search"}}
OPENAI_SDK_PROVIDERS = ["openai", "deepseek", "together", "xai", "perplexity"]
# A prompt of the default set, so the simulator's answers depend on the sample.
PROMPT = PROMPT_SETS["default"][0].render(domain="apple.com", name="Apple")
# A category prompt: its retrieval answers cite the competitors they list.
CATEGORY = "Which airlines would you recommend for a transatlantic flight?"
# The providers whose API searches the web (the others are refused retrieval).
SEARCHING = sorted(name for name, spec in PROVIDERS.items() if spec.retrieval.api is not None)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def leftovers(model: BaseModel, path: str = "") -> list[str]:
    """Fields of the JSON no (nested) SDK model declared: what the simulator invents."""
    found = [f"{path}{name}" for name in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            if isinstance(item, BaseModel):
                suffix = f"[{index}]" if isinstance(value, list) else ""
                found += leftovers(item, f"{path}{name}{suffix}.")
    return found


def config_for(provider: str, sim: RunningSimulator | None = None) -> ProviderConfig:
    spec = PROVIDERS[provider]
    return ProviderConfig(
        spec=spec, base_url=sim.base_urls()[provider] if sim else spec.base_url,
        model=spec.model, keys=(key_for(provider),), input_price_per_mtok=1.0,
        output_price_per_mtok=1.0, rpm=600, tpm=400_000)


def key_for(provider: str) -> ProviderKey:
    return ProviderKey(provider=provider, index=1, secret=SecretStr(f"{provider}-test-key"))


async def adapter_body(provider: str, sample: int = 3) -> dict[str, Any]:
    """The JSON body the adapter sends for the provider's default model."""
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    transport = httpx.MockTransport(refuse)
    async with create_http_client(timeout_s=5, transport=transport) as client:
        request = CompletionRequest(model=PROVIDERS[provider].model, prompt=PROMPT,
                                    sample=sample, max_tokens=64, temperature=0.2)
        with pytest.raises(ProviderError):  # the 503: only the request matters here
            await adapter_for(config_for(provider)).complete(client, key_for(provider), request)
    body: dict[str, Any] = json.loads(seen[0].content)
    return body


# ---- the simulator's tables name only what the SDKs declare ---------------------------------

def test_simulator_tables_declare_only_sdk_parameters() -> None:
    assert set(ACCEPTED["openai"].fields) <= OPENAI_PARAMS
    assert set(ACCEPTED["mistral"].fields) <= MISTRAL_PARAMS
    assert set(ACCEPTED["anthropic"].fields) <= ANTHROPIC_PARAMS
    assert set(RESPONSES["openai"].fields) <= RESPONSES_PARAMS
    assert set(RESPONSES["xai"].fields) <= RESPONSES_PARAMS
    assert "seed" not in RESPONSES_PARAMS  # the Responses API has none
    assert {snake(name) for name in GEMINI_GENERATION_CONFIG} <= GEMINI_CONFIG_PARAMS
    # The SDKs agree with the provider facts the tables encode.
    assert "random_seed" in MISTRAL_PARAMS and "seed" not in MISTRAL_PARAMS
    assert "seed" not in ANTHROPIC_PARAMS
    assert "temperature" not in ANTHROPIC_PARAMS  # removed in API version 2026-10-21
    assert "seed" in GEMINI_CONFIG_PARAMS and "seed" in OPENAI_PARAMS


# ---- the adapters send only what the SDKs declare --------------------------------------------

@pytest.mark.parametrize("provider", ["openai", "deepseek", "together", "xai", "perplexity"])
async def test_openai_wire_bodies_use_openai_sdk_parameters(provider: str) -> None:
    body = await adapter_body(provider)
    assert set(body) - OPENAI_PARAMS <= EXTRA_BODY.get(provider, set())


async def test_mistral_body_is_a_mistral_sdk_request() -> None:
    body = await adapter_body("mistral")
    assert set(body) <= MISTRAL_PARAMS
    assert body["random_seed"] == 3 and "seed" not in body
    parsed = mistral_models.ChatCompletionRequest.model_validate(body)
    dumped = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert dumped == body  # nothing dropped or renamed on the way in


async def test_anthropic_body_is_an_anthropic_sdk_request() -> None:
    body = await adapter_body("anthropic")
    assert set(body) <= ANTHROPIC_PARAMS
    assert set(message_create_params.MessageCreateParamsNonStreaming.__required_keys__) <= set(
        body)


async def test_gemini_body_is_a_genai_generation_config() -> None:
    body = await adapter_body("google")
    config = body["generationConfig"]
    assert {snake(name) for name in config} <= GEMINI_CONFIG_PARAMS
    parsed = genai_types.GenerationConfig.model_validate(config)
    assert (parsed.seed, parsed.max_output_tokens, parsed.temperature) == (3, 64, 0.2)
    (content,) = body["contents"]
    assert genai_types.Content.model_validate(content).parts[0].text == PROMPT  # type: ignore[index]


# ---- every adapter's request is answered by the (strict) simulator ---------------------------

@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_adapter_requests_are_accepted(sim: RunningSimulator, provider: str) -> None:
    adapter = adapter_for(config_for(provider, sim))
    async with create_http_client(timeout_s=10) as client:
        answers = []
        for sample in (0, 1, 2, 3, 4, 5, 0):
            request = CompletionRequest(model=PROVIDERS[provider].model, prompt=PROMPT,
                                        sample=sample, max_tokens=200, temperature=0.7)
            completion = await adapter.complete(client, key_for(provider), request)
            assert completion.status_code == 200 and completion.text
            assert completion.input_tokens > 0 and completion.output_tokens > 0
            answers.append(completion.text)
    # The sample reached the simulator, by seed or by header: samples differ, one repeats.
    assert len(set(answers)) > 1 and answers[0] == answers[-1]


async def test_mistral_seed_is_refused_and_the_adapter_request_is_not(
        sim: RunningSimulator) -> None:
    body = await adapter_body("mistral")
    url = f"{sim.base_urls()['mistral']}/chat/completions"
    headers = {"Authorization": "Bearer mistral-test-key"}
    async with httpx.AsyncClient(timeout=10) as http:
        wrong = {key: value for key, value in body.items() if key != "random_seed"} | {"seed": 3}
        refused = await http.post(url, headers=headers, json=wrong)
        accepted = await http.post(url, headers=headers, json=body)
    assert refused.status_code == 422
    assert refused.json() == {
        "object": "error",
        "message": {"detail": [{"type": "extra_forbidden", "loc": ["body", "seed"],
                                "msg": "Extra inputs are not permitted", "input": 3}]},
        "type": "invalid_request_error", "param": None, "code": None}
    assert accepted.status_code == 200
    raw = accepted.json()
    parsed = mistral_models.ChatCompletionResponse.model_validate(raw)
    message = parsed.choices[0].message
    assert message is not None and message.content
    # mistralai's models ignore unknown fields: a round trip shows whether any were dropped.
    assert parsed.model_dump(by_alias=True, exclude_unset=True, mode="json") == raw


# ---- the SDKs' own clients against the simulator ---------------------------------------------

@pytest.mark.parametrize("provider", OPENAI_SDK_PROVIDERS)
async def test_openai_sdk_client(sim: RunningSimulator, provider: str) -> None:
    client = openai.AsyncOpenAI(base_url=sim.base_urls()[provider], api_key="sk-test",
                                max_retries=0)
    body = await adapter_body(provider)
    extra = {name: body.pop(name) for name in EXTRA_BODY.get(provider, set())}
    body.pop("messages"), body.pop("model")
    async with client:
        response = await client.chat.completions.create(
            model=PROVIDERS[provider].model, messages=[{"role": "user", "content": PROMPT}],
            extra_body=extra or None, **body)
    assert isinstance(response, ChatCompletion)
    assert response.choices[0].message.content
    assert response.choices[0].finish_reason in ("stop", "length")
    assert response.usage is not None and response.usage.total_tokens > 0
    assert leftovers(response) == []


async def test_anthropic_sdk_client(sim: RunningSimulator) -> None:
    client = anthropic.AsyncAnthropic(base_url=f"{sim.url}/anthropic", api_key="ak-test",
                                      max_retries=0)  # sends Authorization: Bearer, 2026-10-21
    async with client:
        message = await client.messages.create(
            model=PROVIDERS["anthropic"].model, max_tokens=64,
            messages=[{"role": "user", "content": PROMPT}])
        with pytest.raises(anthropic.BadRequestError) as refused:
            await client.messages.create(
                model=PROVIDERS["anthropic"].model, max_tokens=64,
                messages=[{"role": "user", "content": PROMPT}],
                extra_body={"temperature": 0.7})
    assert isinstance(message, Message)
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert leftovers(message) == []
    assert refused.value.status_code == 400
    assert refused.value.body == {"type": "error", "error": {
        "type": "invalid_request_error", "message": "temperature: Extra inputs are not permitted"}}


async def test_genai_sdk_client(sim: RunningSimulator) -> None:
    client = genai.Client(api_key="gk-test",
                          http_options=genai_types.HttpOptions(base_url=f"{sim.url}/google"))
    config = genai_types.GenerateContentConfig(seed=3, max_output_tokens=64, temperature=0.2)
    response = await client.aio.models.generate_content(
        model=PROVIDERS["google"].model, contents=PROMPT, config=config)
    assert response.text
    assert response.model_version and response.model_version.startswith(
        PROVIDERS["google"].model)
    assert response.usage_metadata and response.usage_metadata.total_token_count


async def test_gemini_answer_is_a_strict_genai_response(sim: RunningSimulator) -> None:
    """The client above keeps only fields it knows; the model itself forbids any other."""
    model = PROVIDERS["google"].model
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            f"{sim.base_urls()['google']}/v1beta/models/{model}:generateContent",
            headers={"x-goog-api-key": "gk-test"}, json=await adapter_body("google"))
    assert answer.status_code == 200
    parsed = genai_types.GenerateContentResponse.model_validate(answer.json())
    assert parsed.text and parsed.candidates[0].finish_reason == "STOP"  # type: ignore[index]


async def test_mistral_sdk_client(sim: RunningSimulator) -> None:
    async with Mistral(api_key="mistral-test-key", server_url=f"{sim.url}/mistral") as client:
        response = await client.chat.complete_async(
            model=PROVIDERS["mistral"].model, messages=[{"role": "user", "content": PROMPT}],
            random_seed=3, max_tokens=64, temperature=0.2)
    assert isinstance(response, mistral_models.ChatCompletionResponse)
    message = response.choices[0].message
    assert message is not None and message.content
    assert response.usage.total_tokens


# ---- retrieval: the SDKs read the web-search answers ----------------------------------------

async def _responses_body(sim: RunningSimulator, provider: str, prompt: str, sample: int,
                          **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": PROVIDERS[provider].model, "input": prompt,
                            "tools": [{"type": "web_search"}], "max_output_tokens": 2000}
    if provider == "openai":
        body |= {"include": ["web_search_call.action.sources"], "reasoning": {"effort": "low"}}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{sim.base_urls()[provider]}/responses",
                                   headers={"Authorization": "Bearer sk-test",
                                            "x-domain-runner-sample": str(sample)},
                                   json=body | extra)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


@pytest.mark.parametrize("prompt", [PROMPT, CATEGORY])
async def test_openai_retrieval_is_a_strict_sdk_response(sim: RunningSimulator,
                                                         prompt: str) -> None:
    for sample in range(4):
        for cut in (2000, 40):
            raw = await _responses_body(sim, "openai", prompt, sample, max_output_tokens=cut)
            response = Response.model_validate(raw)
            assert leftovers(response) == []
            assert response.output_text and response.usage and response.tool_usage
            calls = [item for item in response.output if item.type == "web_search_call"]
            assert calls and response.tool_usage.web_search.num_requests == len(calls)
            assert response.status == ("completed" if cut == 2000 else "incomplete")
    plain = await _responses_body(sim, "openai", prompt, 0, tools=[])
    response = Response.model_validate(plain)
    assert leftovers(response) == [] and [item.type for item in response.output] == [
        "reasoning", "message"]


@pytest.mark.parametrize("provider", ["openai", "xai"])
async def test_openai_sdk_responses_client(sim: RunningSimulator, provider: str) -> None:
    """xAI's web_search_call items carry ``name`` and JSON ``arguments`` where OpenAI's have an
    ``action`` (its recorded REST bodies do): the SDK reads them without validating, as it
    reads xAI in production."""
    client = openai.AsyncOpenAI(base_url=sim.base_urls()[provider], api_key="sk-test",
                                max_retries=0)
    include: Any = (["web_search_call.action.sources"] if provider == "openai"
                    else openai.NOT_GIVEN)
    async with client:
        response = await client.responses.create(
            model=PROVIDERS[provider].model, input=CATEGORY, tools=[{"type": "web_search"}],
            include=include, max_output_tokens=2000,
            extra_headers={"x-domain-runner-sample": "1"})
    assert response.output_text
    annotations = [a for item in response.output if item.type == "message"
                   for part in item.content if part.type == "output_text"
                   for a in part.annotations]
    truth = sim.retrieval_truth(provider, CATEGORY, 1)
    assert annotations and all(isinstance(a, AnnotationURLCitation) for a in annotations)
    assert {a.url for a in annotations if isinstance(a, AnnotationURLCitation)} == {
        s.cited_url for s in truth.sources if s.cited}
    if provider == "xai":
        assert response.usage is not None
        assert response.usage.model_extra is not None
        assert response.usage.model_extra["server_side_tool_usage_details"][
            "web_search_calls"] == len(truth.queries)


async def test_anthropic_retrieval_is_an_sdk_message(sim: RunningSimulator) -> None:
    client = anthropic.AsyncAnthropic(base_url=f"{sim.url}/anthropic", api_key="ak-test",
                                      max_retries=0)
    async with client:
        for prompt in (PROMPT, CATEGORY):
            message = await client.messages.create(
                model=PROVIDERS["anthropic"].model, max_tokens=2000,
                messages=[{"role": "user", "content": prompt}],
                tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
                extra_headers={"x-domain-runner-sample": "2"})
            assert isinstance(message, Message) and leftovers(message) == []
            kinds = [block.type for block in message.content]
            assert kinds[:2] == ["server_tool_use", "web_search_tool_result"]
            assert "text" in kinds
            usage = message.usage.server_tool_use
            assert usage is not None and usage.web_search_requests == kinds.count(
                "server_tool_use")
            cited = [c for block in message.content if block.type == "text"
                     for c in block.citations or ()]
            assert cited and all(c.type == "web_search_result_location" for c in cited)
        with pytest.raises(anthropic.BadRequestError) as refused:
            await client.messages.create(
                model=PROVIDERS["anthropic"].model, max_tokens=64,
                messages=[{"role": "user", "content": PROMPT}],
                tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 0}])
    assert refused.value.status_code == 400


async def test_gemini_retrieval_is_a_strict_genai_response(sim: RunningSimulator) -> None:
    model = PROVIDERS["google"].model
    async with httpx.AsyncClient(timeout=10) as http:
        for prompt in (PROMPT, CATEGORY):
            for sample in range(4):
                answer = await http.post(
                    f"{sim.base_urls()['google']}/v1beta/models/{model}:generateContent",
                    headers={"x-goog-api-key": "gk-test"},
                    json={"contents": [{"role": "user", "parts": [{"text": prompt}]}],
                          "tools": [{"google_search": {}}],
                          "generationConfig": {"seed": sample, "maxOutputTokens": 2000}})
                assert answer.status_code == 200
                parsed = genai_types.GenerateContentResponse.model_validate(answer.json())
                meta = parsed.candidates[0].grounding_metadata  # type: ignore[index]
                assert meta and meta.web_search_queries and meta.grounding_chunks
                assert meta.search_entry_point and meta.search_entry_point.rendered_content
    client = genai.Client(api_key="gk-test",
                          http_options=genai_types.HttpOptions(base_url=f"{sim.url}/google"))
    response = await client.aio.models.generate_content(
        model=model, contents=CATEGORY, config=genai_types.GenerateContentConfig(
            seed=1, tools=[genai_types.Tool(google_search=genai_types.GoogleSearch())]))
    meta = response.candidates[0].grounding_metadata  # type: ignore[index]
    assert meta and meta.grounding_supports and response.text


async def test_perplexity_retrieval_through_the_openai_sdk(sim: RunningSimulator) -> None:
    client = openai.AsyncOpenAI(base_url=sim.base_urls()["perplexity"], api_key="sk-test",
                                max_retries=0)
    async with client:
        searched = await client.chat.completions.create(
            model="sonar", messages=[{"role": "user", "content": CATEGORY}],
            extra_headers={"x-domain-runner-sample": "1"})
        memory = await client.chat.completions.create(
            model="sonar", messages=[{"role": "user", "content": CATEGORY}],
            extra_body={"disable_search": True})
    # ChatCompletion keeps Perplexity's own fields as extras; nothing else is left over.
    assert sorted(leftovers(searched)) == ["citations", "search_results",
                                           "usage.search_context_size"]
    extra = searched.model_extra or {}
    truth = sim.retrieval_truth("perplexity", CATEGORY, 1)
    assert extra["citations"] == [s.cited_url for s in truth.sources]
    assert [r["url"] for r in extra["search_results"]] == [s.url for s in truth.sources]
    assert leftovers(memory) == []


# ---- retrieval: the adapters' requests, answered from the truth ------------------------------

@pytest.mark.parametrize("provider", SEARCHING)
async def test_adapter_retrieval_requests_are_answered_from_the_truth(
        sim: RunningSimulator, provider: str) -> None:
    """Each adapter's retrieval request is taken, and what the project's extractor reads from
    the answer is what the simulator's truth says it cites."""
    adapter = adapter_for(config_for(provider, sim), "retrieval")
    async with create_http_client(timeout_s=10) as client:
        for prompt in (PROMPT, CATEGORY):
            for sample in range(3):
                request = CompletionRequest(model=PROVIDERS[provider].model, prompt=prompt,
                                            sample=sample, max_tokens=2000, temperature=0.7,
                                            mode="retrieval")
                completion = await adapter.complete(client, key_for(provider), request)
                assert completion.status_code == 200 and completion.text
                truth = sim.retrieval_truth(provider, prompt, sample)
                read = extract_retrieval(completion.api, json.loads(completion.body))  # type: ignore[arg-type]
                cited = {canonical_url(s.url) for s in truth.sources if s.cited}
                if provider == "google":  # redirect URLs: the domains are what it tells
                    assert {s.domain_hint for s in read.sources} == {
                        s.domain for s in truth.sources}
                    assert sum(s.cited for s in read.sources) == len(cited)
                else:
                    assert {canonical_url(s.url) for s in read.sources if s.cited} == cited
                if provider != "perplexity":
                    assert read.search_queries == truth.queries
                assert completion.web_searches == (1 if provider == "perplexity"
                                                   else len(truth.queries))
