"""Which adapter speaks a provider's wire format, in each mode."""

from __future__ import annotations

from functools import partial
from typing import Any

from streams.errors import DomainRunnerError
from streams.providers.anthropic import AnthropicAdapter
from streams.providers.base import HTTPProviderAdapter
from streams.providers.catalog import SearchApi
from streams.providers.citations import extract_retrieval
from streams.providers.gemini import GeminiAdapter
from streams.providers.openai_compatible import OpenAICompatibleAdapter
from streams.providers.openai_responses import OpenAIResponsesAdapter
from streams.providers.types import CallMode, ProviderConfig

ADAPTERS: dict[str, type[HTTPProviderAdapter]] = {
    "openai": OpenAICompatibleAdapter,
    "anthropic": AnthropicAdapter,
    "gemini": GeminiAdapter,
}

# Retrieval answers in a shape of their own where the provider searches through another API.
SEARCH_ADAPTERS: dict[SearchApi, type[HTTPProviderAdapter]] = {
    "openai_responses": OpenAIResponsesAdapter,
    "xai_responses": OpenAIResponsesAdapter,
}


class NoWebSearch(DomainRunnerError, ValueError):
    """Retrieval asked of a provider whose API has no web search."""


def _searches(api: SearchApi, payload: Any) -> int:
    return extract_retrieval(api, payload).web_searches


def adapter_for(config: ProviderConfig, mode: CallMode = "memory") -> HTTPProviderAdapter:
    """The adapter speaking ``config.spec.wire`` (or, for retrieval, the provider's search API)
    against ``config.base_url``."""
    retrieval = config.spec.retrieval
    if mode == "retrieval":
        if retrieval.api is None:
            raise NoWebSearch(f"{config.name} has no web search: {retrieval.refusal}")
        cls = SEARCH_ADAPTERS.get(retrieval.api) or ADAPTERS[config.spec.wire]
        return cls(name=config.name, base_url=config.base_url, params=config.spec.params,
                   retrieval=retrieval, mode=mode,
                   count_searches=partial(_searches, retrieval.api))
    try:
        cls = ADAPTERS[config.spec.wire]
    except KeyError:
        raise ValueError(f"no adapter for wire format {config.spec.wire!r}") from None
    return cls(name=config.name, base_url=config.base_url, params=config.spec.params,
               retrieval=retrieval)
