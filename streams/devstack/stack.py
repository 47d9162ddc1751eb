"""The local stack: Tansu broker, PostgreSQL, Redis and the provider simulator as background
processes on free loopback ports, with everything under one folder (``STACK_DIR``).

``stack_up`` writes ``STACK_DIR/stack.env`` (``KEY=VALUE`` lines) that every other command reads
through ``streams.config``; ``stack_down`` stops only the processes ``stack_up`` started.
Layout: ``STACK_DIR/<service>/`` holds the service's data, ``<service>.pid`` and ``<service>.log``.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from streams.config import STACK_DIR
from streams.devstack.layout import (
    ENV_FILE_NAME,
    SERVICES,
    StackError,
    free_port,
    lock,
    pid_file,
    port_from_env,
    service_dir,
    service_env,
    service_url,
    simulator_keys,
    stack_root,
    write_env,
)
from streams.devstack.postgres import start_postgres
from streams.devstack.processes import live_pid, stop
from streams.devstack.services import start_broker, start_redis, start_simulator


@dataclass(frozen=True)
class ServiceStatus:
    """One service as ``stack_status`` sees it: alive or not, and where to reach it."""

    name: str
    running: bool
    pid: int | None
    port: int | None
    url: str | None


@dataclass(frozen=True)
class StackInfo:
    """What ``stack_up`` left running, and the env file it wrote."""

    stack_dir: Path
    env_file: Path
    env: dict[str, str]
    services: dict[str, ServiceStatus] = field(default_factory=dict)

    @property
    def kafka_bootstrap(self) -> str:
        return self.env["DR_KAFKA_BOOTSTRAP"]

    @property
    def postgres_dsn(self) -> str:
        return self.env["DR_POSTGRES_DSN"]

    @property
    def redis_url(self) -> str:
        return self.env["DR_REDIS_URL"]

    @property
    def sim_url(self) -> str | None:
        return self.env.get("DR_SIM_URL")


def stack_up(*, with_simulator: bool = True, stack_dir: Path | None = None) -> StackInfo:
    """Start whatever is not already running (a second call is harmless) and write the env file.

    A service whose pid file points to a live process of the right program is kept on its port;
    a stale pid file is replaced. Raises ``StackError`` (with the log tail) if a service fails.
    """
    root = stack_root(stack_dir)
    root.mkdir(parents=True, exist_ok=True)
    with lock(root):
        old_env = stack_env(root)
        # Chosen once: the simulator is started with the same keys the env file gets.
        sim_keys = simulator_keys(old_env)
        env: dict[str, str] = {}
        ports: dict[str, int] = {}
        wanted = [s for s in SERVICES if s != "simulator" or with_simulator]
        # A simulator left running by an earlier ``up`` is kept, and stays in the env file.
        if not with_simulator and live_pid(root, "simulator") is not None:
            wanted.append("simulator")
        for name in wanted:
            ports[name] = _ensure(root, name, old_env, {**sim_keys, **env})
            env.update(service_env(name, ports[name], sim_keys))
            # Written after each service so a failure later still leaves usable settings behind.
            write_env(root, env)
        return StackInfo(stack_dir=root, env_file=root / ENV_FILE_NAME, env=env,
                         services=stack_status(root))


def stack_down(*, purge: bool = False, stack_dir: Path | None = None) -> None:
    """Stop the services ``stack_up`` started (verified by pid, program and working directory),
    remove their pid files and the env file; ``purge`` also deletes all data and logs."""
    root = stack_root(stack_dir)
    if not root.is_dir():
        return
    with lock(root):
        # Reverse order: clients (simulator) before the services they might use.
        for name in reversed(SERVICES):
            pid = live_pid(root, name)
            if pid is not None:
                stop(root, name, pid)
            pid_file(root, name).unlink(missing_ok=True)
        (root / ENV_FILE_NAME).unlink(missing_ok=True)
        if purge:
            for name in SERVICES:
                shutil.rmtree(root / name, ignore_errors=True)
    if purge:
        (root / ".lock").unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            root.rmdir()


def stack_status(stack_dir: Path | None = None) -> dict[str, ServiceStatus]:
    """Per service: whether the process from its pid file is alive and ours, its pid and URL."""
    root = stack_root(stack_dir)
    env = stack_env(root)
    result: dict[str, ServiceStatus] = {}
    for name in SERVICES:
        pid = live_pid(root, name)
        port = port_from_env(name, env)
        url = service_url(name, port, env) if port is not None else None
        result[name] = ServiceStatus(name=name, running=pid is not None, pid=pid,
                                     port=port, url=url)
    return result


def stack_env(stack_dir: Path | None = None) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of the stack's env file (empty if the stack is not up)."""
    path = stack_root(stack_dir) / ENV_FILE_NAME
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() and not key.lstrip().startswith("#"):
                values[key.strip()] = value.strip()
    return values


def _ensure(root: Path, name: str, old_env: dict[str, str], new_env: dict[str, str]) -> int:
    """Keep the running service or (re)start it; return its port."""
    service_dir(root, name).mkdir(parents=True, exist_ok=True)
    old_port = port_from_env(name, old_env)
    pid = live_pid(root, name)
    if pid is not None:
        if old_port is not None:
            return old_port
        # Ours but its port is unknown (env file lost): restart rather than guess.
        stop(root, name, pid)
    pid_file(root, name).unlink(missing_ok=True)
    starter: dict[str, Callable[[Path, int, dict[str, str]], None]] = {
        "broker": start_broker,
        "postgres": start_postgres,
        "redis": start_redis,
        "simulator": start_simulator,
    }
    preferred = old_port
    for attempt in range(3):
        port = free_port(preferred)
        try:
            starter[name](root, port, {**old_env, **new_env})
            return port
        except StackError as exc:
            # Another process can take the port between our probe and the service's bind.
            if attempt == 2 or not any(s in str(exc) for s in ("already in use", "AddrInUse")):
                raise
            preferred = None
    raise AssertionError("unreachable")


__all__ = ["SERVICES", "STACK_DIR", "ServiceStatus", "StackError", "StackInfo", "stack_down",
           "stack_env", "stack_status", "stack_up"]
