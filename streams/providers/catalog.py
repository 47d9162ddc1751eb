"""The eight providers: their wire format, real endpoint, default model and price."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Wire = Literal["openai", "anthropic", "gemini"]


@dataclass(frozen=True, kw_only=True)
class ProviderSpec:
    """What never changes about a provider; endpoints and models are overridable in config."""

    name: str
    wire: Wire
    base_url: str
    model: str
    # USD per million tokens, list prices of the default model.
    input_price_per_mtok: float
    output_price_per_mtok: float


PROVIDERS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec(name="openai", wire="openai", base_url="https://api.openai.com/v1",
                     model="gpt-4o-mini", input_price_per_mtok=0.15, output_price_per_mtok=0.60),
        ProviderSpec(name="anthropic", wire="anthropic", base_url="https://api.anthropic.com",
                     model="claude-3-5-haiku-20241022", input_price_per_mtok=0.80,
                     output_price_per_mtok=4.00),
        ProviderSpec(name="google", wire="gemini",
                     base_url="https://generativelanguage.googleapis.com",
                     model="gemini-1.5-flash", input_price_per_mtok=0.075,
                     output_price_per_mtok=0.30),
        ProviderSpec(name="deepseek", wire="openai", base_url="https://api.deepseek.com",
                     model="deepseek-chat", input_price_per_mtok=0.27, output_price_per_mtok=1.10),
        ProviderSpec(name="together", wire="openai", base_url="https://api.together.xyz/v1",
                     model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
                     input_price_per_mtok=0.88, output_price_per_mtok=0.88),
        ProviderSpec(name="xai", wire="openai", base_url="https://api.x.ai/v1",
                     model="grok-2-latest", input_price_per_mtok=2.00, output_price_per_mtok=10.00),
        ProviderSpec(name="perplexity", wire="openai", base_url="https://api.perplexity.ai",
                     model="sonar", input_price_per_mtok=1.00, output_price_per_mtok=1.00),
        ProviderSpec(name="mistral", wire="openai", base_url="https://api.mistral.ai/v1",
                     model="mistral-small-latest", input_price_per_mtok=0.20,
                     output_price_per_mtok=0.60),
    )
}
