"""Where the tests' broker, PostgreSQL and Redis come from, in order: services named by
environment variables; testcontainers when a Docker engine answers; the project's local stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV_NAMES = ("DR_TEST_KAFKA_BOOTSTRAP", "DR_TEST_POSTGRES_DSN", "DR_TEST_REDIS_URL")
# Set only when the tests run on the project's local stack, whose processes they may stop.
LOCAL_STACK_DIR = "DR_TEST_LOCAL_STACK_DIR"


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@contextmanager
def _from_environment() -> Iterator[dict[str, str]]:
    yield {
        "DR_KAFKA_BOOTSTRAP": os.environ["DR_TEST_KAFKA_BOOTSTRAP"],
        "DR_POSTGRES_DSN": os.environ["DR_TEST_POSTGRES_DSN"],
        "DR_REDIS_URL": os.environ["DR_TEST_REDIS_URL"],
    }


@contextmanager
def _from_testcontainers() -> Iterator[dict[str, str]]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    with KafkaContainer().with_kraft() as kafka, PostgresContainer(
        "postgres:16", driver=None
    ) as postgres, RedisContainer("redis:7") as redis:
        yield {
            "DR_KAFKA_BOOTSTRAP": kafka.get_bootstrap_server(),
            "DR_POSTGRES_DSN": postgres.get_connection_url(),
            "DR_REDIS_URL": (
                f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0"
            ),
        }


@contextmanager
def _from_local_stack(stack_dir: Path) -> Iterator[dict[str, str]]:
    from streams.devstack import stack

    stack.stack_up(with_simulator=False, stack_dir=stack_dir)
    try:
        env = stack.stack_env(stack_dir=stack_dir)
        names = ("DR_KAFKA_BOOTSTRAP", "DR_POSTGRES_DSN", "DR_REDIS_URL")
        yield {**{name: env[name] for name in names}, LOCAL_STACK_DIR: str(stack_dir)}
    finally:
        stack.stack_down(stack_dir=stack_dir, purge=True)


@contextmanager
def test_services(stack_dir: Path) -> Iterator[dict[str, str]]:
    if all(os.environ.get(name) for name in ENV_NAMES):
        with _from_environment() as env:
            yield env
    elif docker_answers():
        with _from_testcontainers() as env:
            yield env
    else:
        with _from_local_stack(stack_dir) as env:
            yield env
