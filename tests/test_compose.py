"""infra/kafka-compose.yml describes the production-like stack (it cannot run here: no Docker).

The consumer-group services are derived from the runner's registry (``consumers.GROUPS``):
a group added there without a service fails here, as a missing reality-validation service once
left production without a single score."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from consumers import GROUPS
from streams.cli.main import PRODUCER_PROCESSES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "infra" / "kafka-compose.yml"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
KAFKA = ("kafka-1", "kafka-2", "kafka-3")
# Groups that call a provider's API (embedding: when DR_EMBEDDING_API_PROVIDER is set).
CALLS_PROVIDERS = {"provider-calls", "embedding"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text())
    result: dict[str, Any] = doc["services"]
    return result


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment is written as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def test_three_kraft_brokers(services: dict[str, Any]) -> None:
    node_ids = set()
    for name in KAFKA:
        service = services[name]
        assert service["image"].startswith("apache/kafka:")
        env = _env(service)
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert len(voters) == 3 and all(f"@{n}:" in env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
                                        for n in KAFKA)
        assert env["CLUSTER_ID"]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert f"PLAINTEXT://{name}:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
        node_ids.add(env["KAFKA_NODE_ID"])
        assert "healthcheck" in service
    assert node_ids == {"1", "2", "3"}
    assert len({_env(services[n])["CLUSTER_ID"] for n in KAFKA}) == 1


def test_postgres_redis_jaeger(services: dict[str, Any]) -> None:
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    jaeger = services["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/all-in-one")
    assert _env(jaeger)["COLLECTOR_OTLP_ENABLED"] == "true"
    ports = " ".join(str(p) for p in jaeger["ports"])
    assert "16686" in ports and "4318" in ports


def test_one_shot_jobs(services: dict[str, Any]) -> None:
    assert services["topic-init"]["command"] == ["domain-runner", "topics", "create"]
    assert services["migrate"]["command"] == ["domain-runner", "migrate"]
    for name in ("topic-init", "migrate"):
        assert services[name]["build"]["dockerfile"] == "infra/Dockerfile"
        assert services[name]["restart"] == "no"
    assert (ROOT / "infra" / "Dockerfile").is_file()


def test_every_group_runs_and_nothing_else(services: dict[str, Any]) -> None:
    runs = {name: service["command"][2:] for name, service in services.items()
            if service.get("command", [])[:2] == ["domain-runner", "run"]}
    assert all(len(groups) == 1 for groups in runs.values()), (
        "one group per service, so each scales on its own")
    runs_group = {name: groups[0] for name, groups in runs.items()}
    assert sorted(set(GROUPS) - set(runs_group.values())) == [], "groups without a service"
    known = set(GROUPS) | set(PRODUCER_PROCESSES)
    assert sorted(set(runs_group.values()) - known) == [], "services of unknown groups"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_consumer_groups(services: dict[str, Any], group: str) -> None:
    assert group in services, f"no service for consumer group {group!r}"
    service = services[group]
    assert service["command"] == ["domain-runner", "run", group]
    assert service["build"]["dockerfile"] == "infra/Dockerfile"
    assert service["restart"] == "unless-stopped"
    assert service["deploy"]["replicas"] >= 1
    assert "container_name" not in service  # a fixed name cannot be replicated
    deps = service["depends_on"]
    for job in ("topic-init", "migrate"):
        assert deps[job]["condition"] == "service_completed_successfully"
    env = _env(service)
    assert env["DR_KAFKA_BOOTSTRAP"] == "kafka-1:9092,kafka-2:9092,kafka-3:9092"
    assert env["DR_KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert env["DR_POSTGRES_DSN"].startswith("postgresql://")
    assert env["DR_REDIS_URL"].startswith("redis://")
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    assert env["OTEL_SERVICE_NAME"] == f"domain-runner-{group}"
    if group in CALLS_PROVIDERS:
        assert "OPENAI_API_KEY" in env


def test_image_installs_the_cpu_torch_first() -> None:
    """Left to PyPI, the project's torch pin pulls the CUDA build (GBs the image never uses)."""
    runs = [line.split(None, 1)[1] for line in DOCKERFILE.read_text().splitlines()
            if line.startswith("RUN ")]
    torch = next(i for i, run in enumerate(runs) if "torch==" in run)
    project = next(i for i, run in enumerate(runs) if "pip install -e ." in run)
    assert torch < project
    assert runs[torch].split() == ["pip", "install", "torch==2.13.0", "--index-url",
                                   "https://download.pytorch.org/whl/cpu"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in pyproject, "the image's torch is the project's pin"


def test_no_literal_secrets(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for key, value in _env(service).items():
            if re.search(r"(_API_KEY(_\d+)?|PASSWORD)$", key):
                pattern = r"\$\{" + re.escape(key) + r"(:-|:\?)[^}]*\}"
                assert re.fullmatch(pattern, value), (name, key, value)
