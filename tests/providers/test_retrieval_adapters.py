"""Retrieval mode: each provider's web-search request as its API reference spells it, real
recorded web-search bodies (``../shared/fixtures/provider-responses/``) parsed into text, usage
and billed searches, the search price in the call's cost, and a refusal for providers without
search, never a memory answer in its place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from streams.providers import CompletionRequest, adapter_for
from streams.providers.catalog import PROVIDERS, search_refusal
from streams.providers.citations import extract_retrieval
from streams.providers.registry import NoWebSearch
from streams.runtime.http import create_http_client
from tests.providers.test_adapters import config_for, key_for

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / (
    "provider-responses")
REQUEST = CompletionRequest(model="the-model", prompt="Which CRM tools are best?", sample=2,
                            max_tokens=300, mode="retrieval")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


async def answered(provider: str, body: Any) -> tuple[httpx.Request, Any]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body)

    async with create_http_client(timeout_s=5, transport=httpx.MockTransport(handler)) as client:
        completion = await adapter_for(config_for(provider), "retrieval").complete(
            client, key_for(provider), REQUEST)
    return seen[0], completion


@pytest.mark.parametrize(("provider", "url", "expected"), [
    ("openai", "https://api.openai.com/v1/responses",
     {"model": "the-model", "input": REQUEST.prompt, "max_output_tokens": 300,
      "tools": [{"type": "web_search"}], "max_tool_calls": 3,
      "include": ["web_search_call.action.sources"], "reasoning": {"effort": "low"}}),
    ("xai", "https://api.x.ai/v1/responses",
     {"model": "the-model", "input": REQUEST.prompt, "max_output_tokens": 300,
      "temperature": 0.7, "tools": [{"type": "web_search"}]}),
    ("anthropic", "https://api.anthropic.com/v1/messages",
     {"model": "the-model", "max_tokens": 300,
      "messages": [{"role": "user", "content": REQUEST.prompt}],
      "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]}),
    ("perplexity", "https://api.perplexity.ai/chat/completions",
     {"model": "the-model", "messages": [{"role": "user", "content": REQUEST.prompt}],
      "max_tokens": 300, "temperature": 0.7}),
])
async def test_retrieval_request_is_the_providers_search_api(
        provider: str, url: str, expected: dict[str, Any]) -> None:
    shapes = {"openai": "openai_responses_websearch_1", "xai": "xai_responses_websearch_1",
              "anthropic": "anthropic_websearch_1", "perplexity": "perplexity_chat_1"}
    request, _ = await answered(provider, fixture(shapes[provider]))
    assert str(request.url) == url
    assert json.loads(request.content) == expected


async def test_gemini_retrieval_adds_google_search_at_the_top_level() -> None:
    request, _ = await answered("google", fixture("gemini_grounding_1"))
    body = json.loads(request.content)
    assert body["tools"] == [{"google_search": {}}]
    assert "tools" not in body["generationConfig"]


@pytest.mark.parametrize(("provider", "name"), [
    ("openai", "openai_responses_websearch_1"), ("openai", "openai_responses_websearch_2"),
    ("openai", "openai_responses_websearch_3"), ("xai", "xai_responses_websearch_1"),
    ("anthropic", "anthropic_websearch_1"), ("anthropic", "anthropic_websearch_2"),
    ("anthropic", "anthropic_websearch_3"), ("google", "gemini_grounding_1"),
    ("google", "gemini_grounding_2"), ("google", "gemini_grounding_3"),
    ("perplexity", "perplexity_chat_1"), ("perplexity", "perplexity_chat_3"),
])
async def test_real_search_bodies_parse_and_bill_their_searches(provider: str,
                                                                name: str) -> None:
    body = fixture(name)
    _, completion = await answered(provider, body)
    spec = PROVIDERS[provider]
    extraction = extract_retrieval(spec.retrieval.api, body)  # type: ignore[arg-type]
    # The adapter's text is the text citations index into, and the body is kept as received.
    assert completion.text == extraction.text
    assert json.loads(completion.body) == body
    assert completion.api == spec.retrieval.api
    assert completion.web_searches == extraction.web_searches
    config = config_for(provider)
    tokens_only = config.cost_usd(completion.input_tokens, completion.output_tokens)
    assert config.cost_usd(completion.input_tokens, completion.output_tokens,
                           completion.web_searches) == pytest.approx(
        tokens_only + extraction.web_searches * spec.retrieval.search_price_usd)


async def test_a_billed_search_is_counted() -> None:
    # anthropic_websearch_1 ran two searches (usage.server_tool_use.web_search_requests).
    _, completion = await answered("anthropic", fixture("anthropic_websearch_1"))
    assert completion.web_searches == 2


@pytest.mark.parametrize("provider", ["deepseek", "together", "mistral"])
def test_providers_without_search_are_refused_with_their_reason(provider: str) -> None:
    with pytest.raises(NoWebSearch, match="no web search") as info:
        adapter_for(config_for(provider), "retrieval")
    assert search_refusal(provider) in str(info.value)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google", "xai", "perplexity"])
def test_providers_with_search_are_not_refused(provider: str) -> None:
    assert search_refusal(provider) == ""


async def test_memory_mode_sends_no_search_tool() -> None:
    for provider in PROVIDERS:
        body = adapter_for(config_for(provider)).request_body(
            CompletionRequest(model="m", prompt="p", sample=0, max_tokens=10))
        assert "tools" not in body and "web_search_options" not in body, provider
