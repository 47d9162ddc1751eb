"""The eight providers: their wire format, real endpoint, default model, price, and how their API
spells the parameters every request sets.

Models, prices and parameters were checked against each provider's API reference in December
2026 (URLs in the comments); the simulator refuses, per provider, what the real API refuses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Wire = Literal["openai", "anthropic", "gemini"]
# The shape of a body that answered with the provider's web search (what
# ``streams.providers.citations`` reads citations from).
SearchApi = Literal["openai_responses", "xai_responses", "anthropic_messages", "gemini_generate",
                    "perplexity_chat"]


@dataclass(frozen=True, kw_only=True)
class RequestParams:
    """How one provider's API names what every request sets, and what it needs besides.

    The adapters send exactly these and nothing else: several APIs refuse any parameter they do
    not document (Mistral with a 422, Anthropic with a 400), so a field one OpenAI-compatible
    takes can dead-letter every call to another."""

    # The body field carrying the sample index, so one sample asked again tends to answer the
    # same; None where the API has no seed (each call is then a fresh draw).
    seed: str | None = "seed"
    # The output-token limit's name (OpenAI's and xAI's reasoning models refuse max_tokens).
    max_tokens: str = "max_tokens"
    # False where the model refuses a sampling temperature (or the API version removed it).
    temperature: bool = True
    # Sent as is with every request (Gemini: inside generationConfig), e.g. switching a
    # reasoning model's thinking off so hidden reasoning tokens neither eat max_tokens nor the
    # budget, and the answer is the model's direct one, as from the other providers.
    fixed: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, kw_only=True)
class Retrieval:
    """How a provider answers with its own web search (``api``), or why it cannot (``refusal``).

    ``body`` is added to a retrieval request's body (top level), ``memory_body`` to a memory
    request's (Perplexity searches unless told not to). ``search_price_usd`` is the list price of
    one billed search (OpenAI, Anthropic, xAI: per search call; Gemini: per search query;
    Perplexity: per request), counted into the call's cost; ``max_searches`` is the most one
    call can bill, what a run's cost cap reserves."""

    api: SearchApi | None
    refusal: str = ""
    body: Mapping[str, Any] = field(default_factory=dict, hash=False)
    memory_body: Mapping[str, Any] = field(default_factory=dict, hash=False)
    search_price_usd: float = 0.0
    max_searches: int = 1


def no_search(reason: str) -> Retrieval:
    return Retrieval(api=None, refusal=reason)


@dataclass(frozen=True, kw_only=True)
class ProviderSpec:
    """What never changes about a provider; endpoints and models are overridable in config.

    ``params`` fit the default model: a model override may need other parameters (e.g. an
    older OpenAI model refuses ``reasoning_effort``)."""

    name: str
    wire: Wire
    base_url: str
    model: str
    # USD per million tokens, list prices of the default model (peak rates where they vary).
    input_price_per_mtok: float
    output_price_per_mtok: float
    params: RequestParams = RequestParams()
    retrieval: Retrieval = field(default_factory=lambda: no_search("no web search"))


PROVIDERS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        # gpt-4o-mini shuts down 2027-01-14; gpt-6-luna is OpenAI's named replacement, a
        # reasoning model: max_completion_tokens, no temperature, reasoning off. No seed: the
        # reference marks it deprecated and the newest models (gpt-5.6, gpt-6) refuse it.
        # https://developers.openai.com/api/docs/deprecations
        ProviderSpec(name="openai", wire="openai", base_url="https://api.openai.com/v1",
                     model="gpt-6-luna", input_price_per_mtok=0.10, output_price_per_mtok=0.50,
                     params=RequestParams(seed=None, max_tokens="max_completion_tokens",
                                          temperature=False,
                                          fixed={"reasoning_effort": "none"}),
                     # Web search is a Responses API tool ($10 per 1,000 calls); chat
                     # completions only search with the *-search-preview models.
                     # https://platform.openai.com/docs/guides/tools-web-search
                     retrieval=Retrieval(
                         api="openai_responses", search_price_usd=0.010, max_searches=3,
                         body={"tools": [{"type": "web_search"}], "max_tool_calls": 3,
                               "include": ["web_search_call.action.sources"],
                               "reasoning": {"effort": "low"}})),
        # Messages has no seed. API version 2026-10-21 (the one this adapter sends) refuses
        # temperature/top_p/top_k on every model. https://platform.claude.com/docs/en/api/messages
        ProviderSpec(name="anthropic", wire="anthropic", base_url="https://api.anthropic.com",
                     model="claude-haiku-4-5-20251001", input_price_per_mtok=1.00,
                     output_price_per_mtok=5.00,
                     params=RequestParams(seed=None, temperature=False),
                     # The server-side web_search tool, $10 per 1,000 searches.
                     # https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool
                     retrieval=Retrieval(
                         api="anthropic_messages", search_price_usd=0.010, max_searches=3,
                         body={"tools": [{"type": "web_search_20250305", "name": "web_search",
                                          "max_uses": 3}]})),
        # gemini-1.5 and 2.5 flash are shut down; 3.5 Flash-Lite is the named replacement.
        # generationConfig.seed exists. https://ai.google.dev/gemini-api/docs/deprecations
        ProviderSpec(name="google", wire="gemini",
                     base_url="https://generativelanguage.googleapis.com",
                     model="gemini-3.5-flash-lite", input_price_per_mtok=0.30,
                     output_price_per_mtok=2.50,
                     # Grounding with Google Search, $14 per 1,000 search queries.
                     # https://ai.google.dev/gemini-api/docs/google-search
                     retrieval=Retrieval(api="gemini_generate", search_price_usd=0.014,
                                         max_searches=4, body={"tools": [{"google_search": {}}]})),
        # deepseek-chat was retired 2026-07-24; deepseek-flash thinks by default (when it does,
        # temperature has no effect), so thinking is switched off. The API has no seed.
        # https://api-docs.deepseek.com/quick_start/pricing
        ProviderSpec(name="deepseek", wire="openai", base_url="https://api.deepseek.com",
                     model="deepseek-flash", input_price_per_mtok=0.30, output_price_per_mtok=1.20,
                     params=RequestParams(seed=None,
                                          fixed={"thinking": {"type": "disabled"}}),
                     retrieval=no_search("DeepSeek's API has no web search: its chat "
                                         "completions take function tools only")),
        # https://docs.together.ai/reference/chat-completions-1 (seed: integer)
        ProviderSpec(name="together", wire="openai", base_url="https://api.together.xyz/v1",
                     model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
                     input_price_per_mtok=0.88, output_price_per_mtok=0.88,
                     retrieval=no_search("Together's chat completions have no built-in web "
                                         "search (function tools only)")),
        # grok-2 is gone and the grok-4.x fast models redirect to grok-4.3 since 2026-05-15;
        # reasoning_effort "none" is its non-reasoning mode. It takes a seed (grok-4.5 and
        # later refuse one: override the model and the seed goes too).
        # https://docs.x.ai/developers/migration/may-15-retirement
        ProviderSpec(name="xai", wire="openai", base_url="https://api.x.ai/v1",
                     model="grok-4.3", input_price_per_mtok=1.25, output_price_per_mtok=2.50,
                     params=RequestParams(max_tokens="max_completion_tokens",
                                          fixed={"reasoning_effort": "none"}),
                     # Live Search (search_parameters) was retired 2025-12-15; web search is a
                     # Responses API tool, $5 per 1,000 calls.
                     # https://docs.x.ai/docs/guides/tools/search-tools
                     retrieval=Retrieval(api="xai_responses", search_price_usd=0.005,
                                         max_searches=3,
                                         body={"tools": [{"type": "web_search"}]})),
        # Sonar takes no seed. https://docs.perplexity.ai/guides/chat-completions-guide
        ProviderSpec(name="perplexity", wire="openai", base_url="https://api.perplexity.ai",
                     model="sonar", input_price_per_mtok=1.00, output_price_per_mtok=1.00,
                     params=RequestParams(seed=None),
                     # Sonar searches on every request ($5 per 1,000 requests at low context)
                     # unless disable_search is set, which memory mode does.
                     # https://docs.perplexity.ai/api-reference/chat-completions-post
                     retrieval=Retrieval(api="perplexity_chat", search_price_usd=0.005,
                                         memory_body={"disable_search": True})),
        # Mistral calls the seed random_seed and answers 422 to any field it does not know.
        # https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post
        ProviderSpec(name="mistral", wire="openai", base_url="https://api.mistral.ai/v1",
                     model="mistral-small-latest", input_price_per_mtok=0.20,
                     output_price_per_mtok=0.60,
                     params=RequestParams(seed="random_seed"),
                     retrieval=no_search("Mistral's web search is a connector of its Agents "
                                         "and Conversations APIs, not of chat completions, "
                                         "which this deployment calls")),
    )
}


def search_refusal(provider: str) -> str:
    """Why ``provider`` cannot answer in retrieval mode; "" when it can."""
    spec = PROVIDERS.get(provider)
    if spec is None:
        return "not a provider this deployment knows"
    return "" if spec.retrieval.api is not None else spec.retrieval.refusal
