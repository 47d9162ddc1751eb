"""How each service but PostgreSQL starts and answers: Tansu (memory storage), Redis and the
provider simulator."""

from __future__ import annotations

import os
import socket
import struct
import sys
import urllib.error
import urllib.request
from pathlib import Path

from streams.config import PROJECT_ROOT
from streams.devstack.layout import HOST, StackError, service_dir
from streams.devstack.processes import spawn, wait_ready
from streams.devstack.programs import redis_bin, tansu_bin


def start_broker(root: Path, port: int, env: dict[str, str]) -> None:
    url = f"tcp://{HOST}:{port}"
    argv = [str(tansu_bin()), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]
    child_env = dict(os.environ)
    # Tansu reads these as defaults for its flags; an exporter pointed at a missing collector
    # would only add noise to the log.
    child_env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    proc = spawn(root, "broker", argv, cwd=service_dir(root, "broker"), env=child_env)
    wait_ready(root, "broker", proc, lambda: _kafka_ready(port))


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


def start_redis(root: Path, port: int, env: dict[str, str]) -> None:
    binary = redis_bin()
    if not os.access(binary, os.X_OK):
        raise StackError("redis-server not found (Debian: apt-get install redis-server)")
    workdir = service_dir(root, "redis")
    # No persistence: the stack is a scratch environment.
    argv = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
            "--dir", str(workdir), "--daemonize", "no"]
    proc = spawn(root, "redis", argv, cwd=workdir)
    wait_ready(root, "redis", proc, lambda: _redis_ready(port))


def _redis_ready(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_simulator(root: Path, port: int, env: dict[str, str]) -> None:
    url = f"http://{HOST}:{port}"
    child_env = dict(os.environ)
    # The simulator learns the keys it accepts from the same variables the clients read.
    child_env.update({k: v for k, v in env.items() if k.endswith(("_API_KEY", "_API_KEY_2"))})
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), child_env.get("PYTHONPATH", "")) if p)
    argv = [sys.executable, "-m", "streams.cli", "sim", "--port", str(port)]
    proc = spawn(root, "simulator", argv, cwd=service_dir(root, "simulator"), env=child_env)
    wait_ready(root, "simulator", proc, lambda: _http_ok(f"{url}/_sim/stats"))


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False
