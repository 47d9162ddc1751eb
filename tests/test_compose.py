"""infra/kafka-compose.yml describes the production-like stack (it cannot run here: no Docker)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "infra" / "kafka-compose.yml"
KAFKA = ("kafka-1", "kafka-2", "kafka-3")
WORKERS = {"capture": 2, "provider-calls": 4, "embedding": 2, "scoring": 2, "correlation": 1}


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


@pytest.mark.parametrize(("group", "replicas"), sorted(WORKERS.items()))
def test_consumer_groups(services: dict[str, Any], group: str, replicas: int) -> None:
    service = services[group]
    assert service["command"] == ["domain-runner", "run", group]
    assert service["deploy"]["replicas"] == replicas
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
    assert env["OTEL_SERVICE_NAME"]
    assert "OPENAI_API_KEY" in env


def test_no_literal_secrets(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for key, value in _env(service).items():
            if re.search(r"(_API_KEY(_\d+)?|PASSWORD)$", key):
                pattern = r"\$\{" + re.escape(key) + r"(:-|:\?)[^}]*\}"
                assert re.fullmatch(pattern, value), (name, key, value)
