"""The one place configuration is read: environment variables (prefix ``DR_``), ``.env`` and the
local stack's env file. Provider keys use the providers' own names (``OPENAI_API_KEY``,
``OPENAI_API_KEY_2``, …) and are only ever held as ``SecretStr``."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.providers.catalog import PROVIDERS
from streams.providers.types import ProviderConfig, ProviderKey

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK_DIR = Path(os.environ.get("DR_STACK_DIR", PROJECT_ROOT / ".stack"))
STACK_ENV_FILE = STACK_DIR / "stack.env"


def _env(name: str) -> str | None:
    """A variable from the process environment, else from the stack env file or ``.env``."""
    if name in os.environ:
        return os.environ[name]
    return _file_values().get(name)


def _file_values() -> dict[str, str]:
    values: dict[str, str] = {}
    for path in (PROJECT_ROOT / ".env", STACK_ENV_FILE):
        if path.is_file():
            for line in path.read_text().splitlines():
                key, sep, value = line.partition("=")
                if sep and not key.lstrip().startswith("#"):
                    values[key.strip()] = value.strip()
    return values


def _int_env(name: str) -> int | None:
    value = _env(name)
    return int(value) if value else None


def provider_keys(provider: str) -> tuple[ProviderKey, ...]:
    """``<PROVIDER>_API_KEY``, ``<PROVIDER>_API_KEY_2``, … until the first gap."""
    prefix = f"{provider.upper()}_API_KEY"
    keys: list[ProviderKey] = []
    index = 1
    while (value := _env(prefix if index == 1 else f"{prefix}_{index}")):
        keys.append(ProviderKey(
            provider=provider, index=index, secret=SecretStr(value),
            rpm=_int_env(f"{provider.upper()}_RPM_{index}"),
            tpm=_int_env(f"{provider.upper()}_TPM_{index}"),
        ))
        index += 1
    return tuple(keys)


class Settings(BaseSettings):
    """Everything a process needs to reach the stack and decide how to behave."""

    model_config = SettingsConfigDict(
        env_prefix="DR_",
        env_file=(PROJECT_ROOT / ".env", STACK_ENV_FILE),
        extra="ignore",
    )

    kafka_bootstrap: str = "127.0.0.1:9092"
    # Tansu refuses the idempotent producer; Apache Kafka should turn this on.
    kafka_enable_idempotence: bool = False
    # Tansu keeps departed members in DescribeGroups; Apache Kafka's answer can be trusted.
    kafka_trust_group_membership: bool = False
    kafka_fetch_max_wait_ms: int = 50
    kafka_session_timeout_ms: int = 6000
    kafka_heartbeat_interval_ms: int = 1000
    kafka_max_batch: int = 200
    postgres_dsn: SecretStr = SecretStr("postgresql://domain_runner@127.0.0.1:5432/domain_runner")
    redis_url: str = "redis://127.0.0.1:6379/0"

    providers: list[str] = Field(default_factory=lambda: list(PROVIDERS))
    http_timeout_s: float = 60.0
    provider_concurrency: int = 64
    # Attempts per call before it is dead-lettered; transient failures wait
    # retry_base_s × 2^(attempt-1) (equal jitter, capped at 30 s) between them: 8 attempts
    # ride out about a minute of provider outage.
    provider_max_attempts: int = 8
    retry_base_s: float = 1.0
    default_rpm: int = 600
    default_tpm: int = 400_000
    # Provider budget: "redis" shares every key's buckets across processes; "local" limits each
    # process on its own (the old behaviour, kept as the benchmark's baseline).
    limiter: Literal["redis", "local"] = "redis"
    # Default bucket capacity in seconds of the key's rate: small, so a burst never overshoots
    # a provider that enforces its per-minute limit per second.
    limiter_burst_s: float = 1.0
    # A call whose key could not send within this long fails as RateLimitBacklog.
    limiter_max_wait_s: float = 300.0
    redis_timeout_s: float = 1.0
    # Circuit breaker per provider and process: opens after this many consecutive transient
    # failures, lets one probe through after the cool-down.
    breaker_failures: int = 5
    breaker_reset_s: float = 15.0
    max_output_tokens: int = 400
    # A call claimed by a process is not taken by another before this lease ends.
    call_lease_s: float = 120.0
    # The reconciler re-publishes due retries every interval, and a call published longer ago
    # than the grace period with no response, no dead letter and no live claim.
    reconcile_interval_s: float = 1.0
    reconcile_grace_s: float = 300.0
    # A run whose domains have not all arrived this long after the last one did ends degraded,
    # with the count of missing domains; a domain arriving later reopens it.
    run_domains_grace_s: float = 600.0
    # Share of a run's calls that must succeed for it to be complete rather than degraded.
    coverage_target: float = 0.95

    # reality-validation: how long a batch waits for capture to store its answers before it is
    # redelivered; the web-presence check of each domain seen (once a day, at most
    # web_presence_per_batch checks per batch, each within web_presence_timeout_s).
    validation_wait_s: float = 10.0
    web_presence_checks: bool = True
    web_presence_timeout_s: float = 8.0
    web_presence_politeness_s: float = 1.0
    web_presence_per_batch: int = 16
    # Host name → "ip:port" (or "ip"), "*" for any: an /etc/hosts for every fetch of an outside
    # URL (web-presence checks, `news ingest URL`). Mapped names are trusted as given; any other
    # name must resolve to public addresses only (streams/safe_fetch.py).
    web_presence_hosts: dict[str, str] = Field(default_factory=dict)

    # Embeddings: the local model by default; a provider's OpenAI-compatible /embeddings API
    # (its base URL and first key) when a provider is named here.
    embedding_api_provider: str | None = None
    embedding_api_model: str = "text-embedding-3-small"
    embedding_batch_size: int = 64
    # News correlation compares runs in this window before an event with runs in it after.
    correlation_window_s: float = 7 * 24 * 3600.0

    @cached_property
    def provider_configs(self) -> dict[str, ProviderConfig]:
        """Each enabled provider with its overrides (``DR_<NAME>_BASE_URL``, ``_MODEL``, …)."""
        configs: dict[str, ProviderConfig] = {}
        for name in self.providers:
            spec = PROVIDERS[name]
            upper = name.upper()

            def override(field: str, default: str, upper: str = upper) -> str:
                return _env(f"DR_{upper}_{field}") or default

            configs[name] = ProviderConfig(
                spec=spec,
                base_url=override("BASE_URL", spec.base_url).rstrip("/"),
                model=override("MODEL", spec.model),
                keys=provider_keys(name),
                input_price_per_mtok=float(override("INPUT_PRICE", str(spec.input_price_per_mtok))),
                output_price_per_mtok=float(
                    override("OUTPUT_PRICE", str(spec.output_price_per_mtok))
                ),
                rpm=int(_env(f"{upper}_RPM") or self.default_rpm),
                tpm=int(_env(f"{upper}_TPM") or self.default_tpm),
                burst=_int_env(f"{upper}_BURST"),
                token_burst=_int_env(f"{upper}_TOKEN_BURST"),
            )
        return configs


def get_settings() -> Settings:
    """A fresh read of the environment (cheap; callers hold on to the result)."""
    return Settings()
