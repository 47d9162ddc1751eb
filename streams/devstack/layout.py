"""Where the local stack keeps its state: one folder per service (data, pid file, log), the
env file every command reads, and the ports and URLs in it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

from streams.config import STACK_DIR
from streams.errors import DomainRunnerError
from streams.providers.catalog import PROVIDERS

SERVICES: tuple[str, ...] = ("broker", "postgres", "redis", "simulator")
ENV_FILE_NAME = "stack.env"
HOST = "127.0.0.1"
PG_DB = "domain_runner"
PG_ROLE = "domain_runner"
PG_OS_USER = "postgres"

# Providers the simulator serves, and the path under the simulator URL where each one's API
# lives: OpenAI-compatible APIs under /<name>/v1, the others under /<name>.
SIM_PROVIDER_PATHS: dict[str, str] = {
    name: f"{name}/v1" if spec.wire == "openai" else name for name, spec in PROVIDERS.items()
}

READY_TIMEOUT_S: dict[str, float] = {"broker": 20.0, "postgres": 60.0, "redis": 15.0,
                                     "simulator": 45.0}
STOP_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 40
# Linux limit for a Unix socket path (sun_path is 108 bytes including the NUL).
MAX_SOCKET_PATH = 107


class StackError(DomainRunnerError, RuntimeError):
    """A service could not be started, or did not become ready in time."""


def stack_root(stack_dir: Path | None) -> Path:
    return (stack_dir if stack_dir is not None else STACK_DIR).resolve()


def service_dir(root: Path, name: str) -> Path:
    return root / name


def pid_file(root: Path, name: str) -> Path:
    return service_dir(root, name) / f"{name}.pid"


def log_file(root: Path, name: str) -> Path:
    return service_dir(root, name) / f"{name}.log"


def pg_data(root: Path) -> Path:
    return service_dir(root, "postgres") / "data"


@contextlib.contextmanager
def lock(root: Path) -> Iterator[None]:
    """Serialise concurrent ``up``/``down`` calls on one stack folder."""
    with open(root / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_env(root: Path, env: dict[str, str]) -> None:
    """Write atomically with mode 0600: the file holds (simulated) API keys and DSNs."""
    path = root / ENV_FILE_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("# Written by `domain-runner stack up`; removed by `stack down`.\n")
        out.writelines(f"{key}={value}\n" for key, value in env.items())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def service_env(name: str, port: int, sim_keys: dict[str, str]) -> dict[str, str]:
    if name == "broker":
        return {"DR_KAFKA_BOOTSTRAP": f"{HOST}:{port}"}
    if name == "postgres":
        return {"DR_POSTGRES_DSN": f"postgresql://{PG_ROLE}@{HOST}:{port}/{PG_DB}"}
    if name == "redis":
        return {"DR_REDIS_URL": f"redis://{HOST}:{port}/0"}
    url = f"http://{HOST}:{port}"
    env = {"DR_SIM_URL": url}
    for provider, path in SIM_PROVIDER_PATHS.items():
        env[f"DR_{provider.upper()}_BASE_URL"] = f"{url}/{path}"
    env.update(sim_keys)
    return env


def simulator_keys(old_env: dict[str, str]) -> dict[str, str]:
    """Simulated keys, random so nothing treats them as fixed strings; an earlier ``up``'s keys
    are kept so a running simulator and the processes that read the env file keep agreeing."""
    keys: dict[str, str] = {}
    for provider in SIM_PROVIDER_PATHS:
        for index, var in ((1, f"{provider.upper()}_API_KEY"),
                           (2, f"{provider.upper()}_API_KEY_2")):
            prefix = f"sim-{provider}-key-{index}-"
            old = old_env.get(var, "")
            keys[var] = old if old.startswith(prefix) else prefix + secrets.token_hex(8)
    return keys


def port_from_env(name: str, env: dict[str, str]) -> int | None:
    raw = {
        "broker": env.get("DR_KAFKA_BOOTSTRAP", ""),
        "postgres": env.get("DR_POSTGRES_DSN", ""),
        "redis": env.get("DR_REDIS_URL", ""),
        "simulator": env.get("DR_SIM_URL", ""),
    }[name]
    match = re.search(r":(\d+)(?:/|$)", raw)
    return int(match.group(1)) if match else None


def service_url(name: str, port: int, env: dict[str, str]) -> str:
    return {
        "broker": f"{HOST}:{port}",
        "postgres": f"postgresql://{PG_ROLE}@{HOST}:{port}/{PG_DB}",
        "redis": f"redis://{HOST}:{port}/0",
        "simulator": env.get("DR_SIM_URL", f"http://{HOST}:{port}"),
    }[name]


def free_port(preferred: int | None = None) -> int:
    """The previous port if it is still free (stable URLs across restarts), else a new one."""
    if preferred is not None:
        with socket.socket() as sock:
            # As the servers themselves bind: connections of a killed server linger in
            # TIME_WAIT, which must not push its restart onto another port.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port
