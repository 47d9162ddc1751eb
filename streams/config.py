"""The one place configuration is read, by pydantic-settings: environment variables (prefix
``DR_``) over ``.env`` and the local stack's env file. Provider keys use the providers' own names
(``OPENAI_API_KEY``, ``OPENAI_API_KEY_2``, …) and are only ever held as ``SecretStr``.
``DR_STACK_DIR`` alone is read before, from the environment: it says where the stack's env file
is."""

from __future__ import annotations

import os
import warnings
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from streams.providers.catalog import PROVIDERS
from streams.providers.types import ProviderConfig, ProviderKey

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK_DIR = Path(os.environ.get("DR_STACK_DIR", PROJECT_ROOT / ".stack"))
STACK_ENV_FILE = STACK_DIR / "stack.env"


class ProviderVariables(PydanticBaseSettingsSource):
    """Every provider variable (keys, overrides, limits), whose names depend on the provider and
    the key's number, read by the same sources as every other setting: the environment over the
    env files. Values are held as ``SecretStr``: the keys are among them."""

    def __init__(self, settings_cls: type[BaseSettings], env: EnvSettingsSource,
                 dotenv: DotEnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self._env, self._dotenv = env, dotenv

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        prefixes = tuple(f"{p}{name}_" for name in PROVIDERS for p in ("", "dr_"))
        merged = {**self._dotenv.env_vars, **self._env.env_vars}
        return {"provider_variables": {
            name.upper(): SecretStr(value) for name, value in merged.items()
            if value and name.lower().startswith(prefixes)}}


class Kafka(BaseModel):
    bootstrap: str = "127.0.0.1:9092"
    # Tansu refuses the idempotent producer; Apache Kafka should turn this on.
    enable_idempotence: bool = False
    # Tansu keeps departed members in DescribeGroups; Apache Kafka's answer can be trusted.
    trust_group_membership: bool = False
    fetch_max_wait_ms: int = 50
    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 1000
    max_batch: int = 200
    # A commit takes milliseconds. aiokafka retries a retriable commit error forever (seen after
    # a restart of the local broker: UnknownTopicOrPartition on every attempt), which would hold
    # the group's partitions unread for good; past this the process restarts its Kafka clients.
    commit_timeout_s: float = 20.0


class Postgres(BaseModel):
    dsn: SecretStr = SecretStr("postgresql://domain_runner@127.0.0.1:5432/domain_runner")


class Redis(BaseModel):
    url: str = "redis://127.0.0.1:6379/0"
    timeout_s: float = 1.0


class Http(BaseModel):
    timeout_s: float = 60.0


class Provider(BaseModel):
    """How calls go out: in flight per provider and process, attempts before a dead letter."""

    concurrency: int = 64
    # Transient failures wait retry.base_s × 2^(attempt-1) (equal jitter, capped at 30 s)
    # between attempts: 8 attempts ride out about a minute of provider outage.
    max_attempts: int = 8


class Retry(BaseModel):
    base_s: float = 1.0


class Limiter(BaseModel):
    # "redis" shares every key's buckets across processes; "local" limits each process on its
    # own (the old behaviour, kept as the benchmark's baseline).
    kind: Literal["redis", "local"] = "redis"
    # Default bucket capacity in seconds of the key's rate: small, so a burst never overshoots
    # a provider that enforces its per-minute limit per second.
    burst_s: float = 1.0
    # A call whose key could not send within this long fails as RateLimitBacklog.
    max_wait_s: float = 300.0


class Breaker(BaseModel):
    """Per provider and process: opens after ``failures`` consecutive transient failures, lets
    one probe through after ``reset_s``."""

    failures: int = 5
    reset_s: float = 15.0


class Reconcile(BaseModel):
    """Due retries are re-published every ``interval_s``, and a call published longer ago than
    ``grace_s`` with no response, no dead letter and no live claim."""

    interval_s: float = 1.0
    grace_s: float = 300.0


class Embedding(BaseModel):
    """The local model by default; a provider's OpenAI-compatible /embeddings API (its base URL
    and first key) when ``api_provider`` names one."""

    api_provider: str | None = None
    api_model: str = "text-embedding-3-small"
    batch_size: int = 64


class Correlation(BaseModel):
    # Runs in this window before an event are compared with runs in it after.
    window_s: float = 7 * 24 * 3600.0


class Api(BaseModel):
    """The HTTP API: each key's request rate (shared by every replica through Redis) and the
    largest request body accepted."""

    per_minute: int = 600
    burst: int = 60
    max_body_bytes: int = 1_000_000


class Bodies(BaseModel):
    """Provider response bodies kept in PostgreSQL (``response_bodies``, zlib-compressed, about
    a fifth of their size): a body larger than ``max_bytes`` is not kept (its extracted fields
    still are); ``domain-runner bodies purge`` drops bodies older than ``retention_days``."""

    max_bytes: int = 2_000_000
    retention_days: int = 180


class Sources(BaseModel):
    # The third-party source classes (``domain,class`` rows); None: the shipped file.
    classes_file: Path | None = None


class Settings(BaseSettings):
    """Everything a process needs to reach the stack and decide how to behave, grouped by
    concern. A group's variables keep flat names: ``DR_KAFKA_BOOTSTRAP`` is ``kafka.bootstrap``
    (the first ``_`` after the prefix separates the group from its field)."""

    model_config = SettingsConfigDict(
        env_prefix="DR_",
        env_file=(PROJECT_ROOT / ".env", STACK_ENV_FILE),
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    kafka: Kafka = Field(default_factory=Kafka)
    postgres: Postgres = Field(default_factory=Postgres)
    redis: Redis = Field(default_factory=Redis)
    http: Http = Field(default_factory=Http)
    provider: Provider = Field(default_factory=Provider)
    retry: Retry = Field(default_factory=Retry)
    limiter: Limiter = Field(default_factory=Limiter)
    breaker: Breaker = Field(default_factory=Breaker)
    reconcile: Reconcile = Field(default_factory=Reconcile)
    embedding: Embedding = Field(default_factory=Embedding)
    correlation: Correlation = Field(default_factory=Correlation)
    api: Api = Field(default_factory=Api)
    bodies: Bodies = Field(default_factory=Bodies)
    sources: Sources = Field(default_factory=Sources)

    providers: list[str] = Field(default_factory=lambda: list(PROVIDERS))
    default_rpm: int = 600
    default_tpm: int = 400_000
    max_output_tokens: int = 400
    # A call claimed by a process is not taken by another before this lease ends.
    call_lease_s: float = 120.0
    # A run whose domains have not all arrived this long after the last one did ends degraded,
    # with the count of missing domains; a domain arriving later reopens it.
    run_domains_grace_s: float = 600.0
    # Share of a run's calls that must succeed for it to be complete rather than degraded.
    coverage_target: float = 0.95
    # The model-version canary asked with each scheduled run: samples per provider and canary
    # prompt (streams/runs/prompts.py); 0: no canary.
    canary_samples: int = Field(default=3, ge=0, le=100)

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
    # name must resolve to public addresses only (streams/inputs/safe_fetch.py).
    web_presence_hosts: dict[str, str] = Field(default_factory=dict)

    # Alert webhooks: each webhook's signing secret is derived from this key (never stored);
    # delivery attempts and the first back-off (doubling after each failure).
    webhook_signing_key: SecretStr = SecretStr("")
    webhook_attempts: int = 4
    webhook_backoff_s: float = 1.0

    # Filled by ProviderVariables: <PROVIDER>_API_KEY[_n] and DR_<PROVIDER>_* by name.
    provider_variables: dict[str, SecretStr] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        assert isinstance(env_settings, EnvSettingsSource)
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        return (init_settings, env_settings, dotenv_settings,
                ProviderVariables(settings_cls, env_settings, dotenv_settings),
                file_secret_settings)

    def _variable(self, name: str) -> str | None:
        value = self.provider_variables.get(name)
        return value.get_secret_value() if value is not None else None

    def _limit(self, provider: str, suffix: str) -> int | None:
        """``DR_<PROVIDER>_<suffix>``; the unprefixed name of earlier releases still counts for
        one release, with a warning."""
        name = f"DR_{provider.upper()}_{suffix}"
        value = self._variable(name)
        if value is None and (value := self._variable(name[3:])) is not None:
            warnings.warn(f"{name[3:]} is deprecated: set {name} instead (the old name is read "
                          "until the next release)", DeprecationWarning, stacklevel=2)
        return int(value) if value else None

    def provider_keys(self, provider: str) -> tuple[ProviderKey, ...]:
        """``<PROVIDER>_API_KEY``, ``<PROVIDER>_API_KEY_2``, … until the first gap."""
        prefix = f"{provider.upper()}_API_KEY"
        keys: list[ProviderKey] = []
        index = 1
        while (value := self._variable(prefix if index == 1 else f"{prefix}_{index}")):
            keys.append(ProviderKey(
                provider=provider, index=index, secret=SecretStr(value),
                rpm=self._limit(provider, f"RPM_{index}"),
                tpm=self._limit(provider, f"TPM_{index}"),
            ))
            index += 1
        return tuple(keys)

    @cached_property
    def provider_configs(self) -> dict[str, ProviderConfig]:
        """Each enabled provider with its overrides (``DR_<NAME>_BASE_URL``, ``_MODEL``, …)."""
        configs: dict[str, ProviderConfig] = {}
        for name in self.providers:
            spec = PROVIDERS[name]
            upper = name.upper()

            def override(field: str, default: str, upper: str = upper) -> str:
                return self._variable(f"DR_{upper}_{field}") or default

            configs[name] = ProviderConfig(
                spec=spec,
                base_url=override("BASE_URL", spec.base_url).rstrip("/"),
                model=override("MODEL", spec.model),
                keys=self.provider_keys(name),
                input_price_per_mtok=float(override("INPUT_PRICE", str(spec.input_price_per_mtok))),
                output_price_per_mtok=float(
                    override("OUTPUT_PRICE", str(spec.output_price_per_mtok))
                ),
                rpm=_or(self._limit(name, "RPM"), self.default_rpm),
                tpm=_or(self._limit(name, "TPM"), self.default_tpm),
                burst=self._limit(name, "BURST"),
                token_burst=self._limit(name, "TOKEN_BURST"),
            )
        return configs


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def get_settings() -> Settings:
    """A fresh read of the environment (cheap; callers hold on to the result)."""
    return Settings()
