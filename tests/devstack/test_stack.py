"""The local stack manager against real processes, in a throw-away stack folder."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from streams.devstack.stack import (
    SERVICES,
    StackInfo,
    stack_down,
    stack_env,
    stack_status,
    stack_up,
)

CORE = ("broker", "postgres", "redis")


def _tmp_stack_dir() -> Path:
    # Not pytest's tmp_path: its 0700 parent would need o+x for the postgres user.
    return Path(tempfile.mkdtemp(prefix="dr-stack-test-"))


def _gone(pid: int) -> bool:
    """No such process, or only a zombie (exited, not yet reaped by its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _psql_bin() -> str:
    return shutil.which("psql") or "/usr/bin/psql"


@pytest.fixture(scope="module")
def stack() -> Iterator[StackInfo]:
    root = _tmp_stack_dir()
    try:
        yield stack_up(with_simulator=False, stack_dir=root)
    finally:
        stack_down(purge=True, stack_dir=root)
        shutil.rmtree(root, ignore_errors=True)


def test_status_shows_core_services_running(stack: StackInfo) -> None:
    status = stack_status(stack.stack_dir)
    assert set(status) == set(SERVICES)
    for name in CORE:
        pid = status[name].pid
        assert status[name].running, name
        assert pid is not None and not _gone(pid)
        assert status[name].port is not None
    assert not status["simulator"].running


def test_env_file_has_the_three_urls(stack: StackInfo) -> None:
    env = stack_env(stack.stack_dir)
    assert env == stack.env
    assert env["DR_KAFKA_BOOTSTRAP"].startswith("127.0.0.1:")
    assert env["DR_POSTGRES_DSN"].startswith("postgresql://domain_runner@127.0.0.1:")
    assert env["DR_POSTGRES_DSN"].endswith("/domain_runner")
    assert env["DR_REDIS_URL"].startswith("redis://127.0.0.1:")
    assert "DR_SIM_URL" not in env and "OPENAI_API_KEY" not in env
    assert stat.S_IMODE(stack.env_file.stat().st_mode) == 0o600


def test_tcp_connect_to_each_service(stack: StackInfo) -> None:
    for name in CORE:
        port = stack.services[name].port
        assert port is not None
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass


def test_redis_ping(stack: StackInfo) -> None:
    client = redis.Redis.from_url(stack.redis_url)
    try:
        assert client.ping()
    finally:
        client.close()


def test_psql_select_1(stack: StackInfo) -> None:
    out = subprocess.run([_psql_bin(), "-X", "-tA", stack.postgres_dsn, "-c", "select 1"],
                         capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "1"


def test_kafka_metadata(stack: StackInfo) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    async def describe() -> dict[str, object]:
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
        await admin.start()
        try:
            result: dict[str, object] = await admin.describe_cluster()
            return result
        finally:
            await admin.close()

    cluster = asyncio.run(describe())
    assert cluster["brokers"]


def test_up_twice_keeps_the_same_processes(stack: StackInfo) -> None:
    again = stack_up(with_simulator=False, stack_dir=stack.stack_dir)
    for name in CORE:
        assert again.services[name].pid == stack.services[name].pid, name
        assert again.services[name].port == stack.services[name].port, name
    assert again.env == stack.env


def test_stale_pid_is_replaced_and_down_stops_everything() -> None:
    root = _tmp_stack_dir()
    try:
        first = stack_up(with_simulator=False, stack_dir=root)
        pids = {name: first.services[name].pid for name in CORE}
        redis_pid = pids["redis"]
        assert redis_pid is not None
        os.kill(redis_pid, signal.SIGKILL)
        assert _wait_gone(redis_pid)

        second = stack_up(with_simulator=False, stack_dir=root)
        assert second.services["redis"].running
        assert second.services["redis"].pid != redis_pid
        assert second.services["broker"].pid == pids["broker"]
        assert second.services["postgres"].pid == pids["postgres"]

        live = [second.services[name].pid for name in CORE]
        stack_down(stack_dir=root)
        for pid in live:
            assert pid is not None and _wait_gone(pid), pid
        assert not any(s.running for s in stack_status(root).values())
        assert not (root / "stack.env").exists()
        assert not any((root / name / f"{name}.pid").exists() for name in SERVICES)
        assert (root / "postgres" / "data" / "PG_VERSION").is_file()  # kept without purge

        stack_down(purge=True, stack_dir=root)
        assert not (root / "postgres").exists()
    finally:
        stack_down(purge=True, stack_dir=root)
        shutil.rmtree(root, ignore_errors=True)


def test_empty_stack_dir() -> None:
    root = _tmp_stack_dir()
    try:
        assert stack_env(root) == {}
        assert not any(s.running for s in stack_status(root).values())
        stack_down(stack_dir=root)  # nothing to stop is not an error
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_dsn_points_at_the_postgres_port(stack: StackInfo) -> None:
    assert urlsplit(stack.postgres_dsn).port == stack.services["postgres"].port
