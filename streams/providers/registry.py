"""Which adapter speaks a provider's wire format."""

from __future__ import annotations

from streams.providers.anthropic import AnthropicAdapter
from streams.providers.base import HTTPProviderAdapter, ProviderAdapter
from streams.providers.gemini import GeminiAdapter
from streams.providers.openai_compatible import OpenAICompatibleAdapter
from streams.providers.types import ProviderConfig

ADAPTERS: dict[str, type[HTTPProviderAdapter]] = {
    "openai": OpenAICompatibleAdapter,
    "anthropic": AnthropicAdapter,
    "gemini": GeminiAdapter,
}


def adapter_for(config: ProviderConfig) -> ProviderAdapter:
    """The adapter speaking ``config.spec.wire`` against ``config.base_url``."""
    try:
        cls = ADAPTERS[config.spec.wire]
    except KeyError:
        raise ValueError(f"no adapter for wire format {config.spec.wire!r}") from None
    return cls(name=config.name, base_url=config.base_url, params=config.spec.params)
