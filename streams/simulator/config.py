"""What the simulator is told to do: per-provider rate limits, outages, error rates, latency, the
brands' truth (knowledge, fact-error and listing rates), scheduled news effects and model version
switches; patched at run time through the admin API."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from streams.providers.catalog import PROVIDERS, Wire
from streams.simulator.answers import (
    DEFAULT_FACT_ERROR_RATE,
    DEFAULT_KNOWLEDGE_RATE,
    active_effects,
)

Rate = Annotated[float, Field(ge=0.0, le=1.0)]


JSON = dict[str, Any]


OUTCOMES = ("ok", "400", "401", "403", "404", "422", "429", "5xx")


# Default model version suffix per wire, mimicking how each provider pins a snapshot.
VERSION_SUFFIX: dict[Wire, str] = {"openai": "-2024-07-18", "anthropic": "-20241022",
                                   "gemini": "-002"}


DATED = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{3})$")


class RateLimit(BaseModel):
    """Per-key limits; ``None`` or 0 means unlimited. ``burst`` defaults to ``rpm``."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = None
    burst: int | None = None
    tpm: int | None = None


# What a news effect adds to descriptions when it gives only a sentiment.
NEWS_DESCRIPTIONS: dict[str, str] = {
    "negative": "It has recently been at the centre of a major scandal, with lawsuits, heavy "
                "fines and widespread criticism of its conduct.",
    "positive": "It has recently won wide praise for an excellent and highly successful new "
                "product launch.",
}


class NewsEffect(BaseModel):
    """From wall-clock time ``after`` on, models describe ``domain`` differently: each known
    description ends with ``description_change`` (or the sentence for ``sentiment``), and the
    brand's knowledge and fact-error rates become the ones given here."""

    model_config = ConfigDict(extra="forbid")

    domain: str
    after: float  # time.time()
    providers: list[str] | None = None  # None: every provider
    knowledge_rate: Rate | None = None
    fact_error_rate: Rate | None = None
    sentiment: Literal["negative", "positive"] | None = None
    description_change: str | None = None

    @property
    def addendum(self) -> str | None:
        return self.description_change or (NEWS_DESCRIPTIONS[self.sentiment]
                                            if self.sentiment else None)


class SimulatorConfig(BaseModel):
    """Everything that shapes the simulator's behaviour; all but host/port change at run time."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    latency_ms: float = Field(0.0, ge=0)
    latency_jitter_ms: float = Field(0.0, ge=0)
    error_rate: Rate = 0.0  # share of answerable requests that get 500/503
    error_rates: dict[str, Rate] = Field(default_factory=dict)  # per-provider override
    outages: dict[str, float] = Field(default_factory=dict)  # provider or "*" -> time.time() end
    revoked_keys: list[str] = Field(default_factory=list)
    rpm: int | None = None
    burst: int | None = None
    tpm: int | None = None
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)  # per-provider override
    knowledge_rates: dict[str, Rate] = Field(default_factory=dict)  # "provider[:model]" -> rate
    fact_error_rates: dict[str, Rate] = Field(default_factory=dict)
    default_knowledge_rate: Rate = DEFAULT_KNOWLEDGE_RATE
    default_fact_error_rate: Rate = DEFAULT_FACT_ERROR_RATE
    model_version_overrides: dict[str, str] = Field(default_factory=dict)  # "provider[:model]"
    # Per brand: domain -> {"provider:model" | "provider" | "*": rate}.
    brand_knowledge_rates: dict[str, dict[str, Rate]] = Field(default_factory=dict)
    brand_fact_error_rates: dict[str, dict[str, Rate]] = Field(default_factory=dict)
    news_effects: list[NewsEffect] = Field(default_factory=list)
    # Category answers: provider -> brand domain (or an invented brand's name) -> listing rate,
    # replacing the rate drawn for that brand (see category.py).
    listing_rates: dict[str, dict[str, Rate]] = Field(default_factory=dict)
    brands_path: str | None = None

    def limits_for(self, provider: str) -> RateLimit:
        return self.rate_limits.get(provider) or RateLimit(rpm=self.rpm, burst=self.burst,
                                                          tpm=self.tpm)

    def in_outage(self, provider: str, now: float) -> bool:
        until = max(self.outages.get(provider, 0.0), self.outages.get("*", 0.0))
        return now < until

    def error_rate_for(self, provider: str) -> float:
        return self.error_rates.get(provider, self.error_rate)

    def version_overridden(self, provider: str, model: str) -> bool:
        return bool(self.model_version_overrides.get(f"{provider}:{model}")
                    or self.model_version_overrides.get(provider))

    def news_addendum(self, provider: str, domain: str | None, now: float) -> str | None:
        """The description change of the latest news effect on ``domain`` in force."""
        if domain is None:
            return None
        found = [e.addendum for e in active_effects(self, provider, domain, now)
                 if isinstance(e, NewsEffect) and e.addendum]
        return found[-1] if found else None

    def model_version(self, provider: str, model: str) -> str:
        """The version string reported for ``model`` (overridable to simulate a switch)."""
        override = (self.model_version_overrides.get(f"{provider}:{model}")
                    or self.model_version_overrides.get(provider))
        if override:
            return override
        if DATED.search(model):
            return model
        return model + VERSION_SUFFIX[PROVIDERS[provider].wire]


def apply_patch(config: SimulatorConfig, patch: Mapping[str, Any]) -> SimulatorConfig:
    """``config`` with top-level fields replaced by ``patch``. Extra key ``outage_for_s``
    (provider or "*" -> seconds from now; <= 0 clears) merges into ``outages``."""
    data = config.model_dump()
    fields = dict(patch)
    outage_for = fields.pop("outage_for_s", None) or {}
    data.update(fields)
    outages = dict(data.get("outages") or {})
    now = time.time()
    for provider, seconds in dict(outage_for).items():
        if float(seconds) > 0:
            outages[provider] = now + float(seconds)
        else:
            outages.pop(provider, None)
    data["outages"] = outages
    new = SimulatorConfig.model_validate(data)
    unknown = set(new.outages) - set(PROVIDERS) - {"*"}
    if unknown:
        raise ValueError(f"unknown providers in outages: {sorted(unknown)}")
    return new
