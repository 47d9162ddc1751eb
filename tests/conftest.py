"""Session fixtures: the real stack, migrated and with its topics, a simulator on loopback, and an
in-memory span exporter behind the global tracer provider."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from streams.config import Settings
from streams.providers.catalog import PROVIDERS
from tests.support.services import test_services

SPANS = InMemorySpanExporter()


def pytest_configure(config: pytest.Config) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    trace.set_tracer_provider(provider)


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    return SPANS


@pytest.fixture(scope="session")
def stack_env() -> Iterator[dict[str, str]]:
    """The broker, PostgreSQL and Redis every stack test shares, exported to the environment
    the way the local stack's env file would."""
    with tempfile.TemporaryDirectory(prefix="dr-test-stack-") as folder:
        os.chmod(folder, 0o755)
        with test_services(Path(folder)) as env:
            os.environ.update(env)
            yield env


@pytest.fixture(scope="session")
async def migrated(stack_env: dict[str, str], simulator: object) -> Settings:
    """Settings read once the stack and the simulator (its URLs and keys) are in the
    environment: settings read the environment when they are made, not when used."""
    from streams.kafka.broker import create_topics
    from streams.runtime.migrate import migrate

    settings = Settings()
    await migrate(settings.postgres.dsn.get_secret_value())
    await create_topics(settings)
    return settings


@pytest.fixture(scope="session")
async def simulator(stack_env: dict[str, str]) -> AsyncIterator[object]:
    """A simulator on loopback; provider base URLs and keys point at it."""
    from streams.simulator import SimulatorConfig, start_simulator

    running = await start_simulator(SimulatorConfig(host="127.0.0.1", port=0, latency_ms=5))
    for provider, base_url in running.base_urls().items():
        os.environ[f"DR_{provider.upper()}_BASE_URL"] = base_url
    for provider in PROVIDERS:
        os.environ[f"{provider.upper()}_API_KEY"] = f"test-{provider}-{os.urandom(4).hex()}"
        os.environ[f"{provider.upper()}_API_KEY_2"] = f"test-{provider}-{os.urandom(4).hex()}"
    yield running
    await running.stop()
