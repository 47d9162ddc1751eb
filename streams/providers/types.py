"""The provider-neutral vocabulary: a key and a provider as this deployment uses them, a request,
a completion, and the provider's own view of a key's limits. Imports nothing of the project's but
the catalog, so every other module of the package (and the limiter, the config) can use it."""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from streams.providers.catalog import ProviderSpec

FinishReason = Literal["stop", "length", "content_filter", "other"]
# ``memory``: no tools; ``retrieval``: the provider's own web search (``ProviderSpec.retrieval``).
CallMode = Literal["memory", "retrieval"]

# Every request names its sample index here. Real APIs ignore headers they do not know; the
# simulator reads the sample from it where the API has no seed field, so the samples of a
# seedless provider stay distinct (and countable) there as they are in production.
SAMPLE_HEADER = "x-domain-runner-sample"
# And the run it belongs to, which the simulator salts its draws with so a repeated run is a
# fresh draw (as a real model's is); real APIs ignore it too.
RUN_HEADER = "x-domain-runner-run"


@dataclass(frozen=True)
class CompletionRequest:
    """One prompt to one model; ``sample`` is the sample index, sent as the seed where the
    provider's API has one (``RequestParams.seed``)."""

    model: str
    prompt: str
    sample: int
    max_tokens: int
    temperature: float = 0.7
    run_id: str = ""
    mode: CallMode = "memory"


@dataclass(frozen=True)
class RateLimitInfo:
    """The provider's own view of a key's limits, as reported in response headers.

    ``*_reset_*_s`` and ``retry_after_s`` are seconds from the moment the headers were parsed.
    Every field is ``None`` when the provider did not say."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_s: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_s: float | None = None
    retry_after_s: float | None = None

    @property
    def empty(self) -> bool:
        return all(value is None for value in self.__dict__.values())

    def suggested_wait_s(self) -> float | None:
        """``retry_after_s`` if given, else the longest reset among exhausted windows."""
        if self.retry_after_s is not None:
            return self.retry_after_s
        waits = [
            reset
            for remaining, reset in (
                (self.remaining_requests, self.reset_requests_s),
                (self.remaining_tokens, self.reset_tokens_s),
            )
            if remaining is not None and remaining <= 0 and reset is not None
        ]
        return max(waits) if waits else None


@dataclass(frozen=True)
class Completion:
    """A successful answer. ``finish_reason`` is normalised; ``raw_finish_reason`` is verbatim."""

    text: str
    model_version: str
    finish_reason: FinishReason
    raw_finish_reason: str | None
    input_tokens: int
    output_tokens: int
    rate_limit: RateLimitInfo
    status_code: int
    # The body as received (kept, so extraction can be run again without paying), its shape
    # (a ``SearchApi`` or the wire's name), and the searches the provider billed.
    body: bytes = b""
    api: str = ""
    web_searches: int = 0


@dataclass(frozen=True)
class ProviderKey:
    """One API key of one provider; ``fingerprint`` is safe to log, ``secret`` is not."""

    provider: str
    index: int
    secret: SecretStr
    # Per-key limits (``<PROVIDER>_RPM_<n>``/``_TPM_<n>``); None: the provider's.
    rpm: int | None = None
    tpm: int | None = None

    @functools.cached_property  # asked several times per call: hashed once per key
    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.secret.get_secret_value().encode()).hexdigest()[:8]
        return f"{self.provider}#{self.index}:{digest}"


@dataclass(frozen=True)
class ProviderConfig:
    """A provider as this deployment uses it: endpoint, model, keys, prices and limits."""

    spec: ProviderSpec
    base_url: str
    model: str
    keys: tuple[ProviderKey, ...]
    input_price_per_mtok: float
    output_price_per_mtok: float
    rpm: int
    tpm: int
    # Bucket capacities (``<PROVIDER>_BURST``, ``_TOKEN_BURST``); None: ``DR_LIMITER_BURST_S``
    # seconds' worth of the rate.
    burst: int | None = None
    token_burst: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def cost_usd(self, input_tokens: int, output_tokens: int, web_searches: int = 0) -> float:
        return ((input_tokens * self.input_price_per_mtok
                 + output_tokens * self.output_price_per_mtok) / 1_000_000
                + web_searches * self.spec.retrieval.search_price_usd)


def prompt_tokens_bound(prompt: str) -> int:
    """The most tokens a prompt can take: a pessimistic 3 characters per token (real tokenizers
    and the simulator count ~4). What the limiter reserves and a cost cap holds back."""
    return math.ceil(len(prompt) / 3)
