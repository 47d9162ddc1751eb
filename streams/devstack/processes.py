"""The stack's processes: start one detached with its log, tell ours from a stranger's that reused
the pid, wait until it is ready, stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from streams.devstack.layout import (
    LOG_TAIL_LINES,
    READY_TIMEOUT_S,
    STOP_TIMEOUT_S,
    StackError,
    log_file,
    pg_data,
    pid_file,
    service_dir,
)
from streams.devstack.programs import redis_bin, run_as, run_pg


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
    return pg_data(root) if name == "postgres" else service_dir(root, name)


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
        "redis": exe_name.startswith("redis-server") or Path(exe) == Path(redis_bin()).resolve(),
        "simulator": exe_name.startswith("python") and _cmdline_has(pid, "streams.cli", "sim"),
    }[name]
    return program_ok and Path(cwd) == _expected_cwd(root, name)


def _cmdline_has(pid: int, *words: str) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return all(word in argv for word in words)


def live_pid(root: Path, name: str) -> int | None:
    """The pid of this stack's running ``name``, or None (a stale pid file is not trusted)."""
    pid = _read_pid(pid_file(root, name))
    if pid is not None and _is_ours(root, name, pid):
        return pid
    if name == "postgres":
        # Our pid file may be lost while the server still holds the data folder: adopt it,
        # otherwise a new server would fail on the data folder's lock file.
        pid = _read_pid(pg_data(root) / "postmaster.pid")
        if pid is not None and _is_ours(root, name, pid):
            pid_file(root, name).write_text(f"{pid}\n")
            return pid
    return None


def _log_tail(root: Path, name: str) -> str:
    try:
        lines = log_file(root, name).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "(log is empty)"


def spawn(root: Path, name: str, argv: list[str], *, cwd: Path,
           env: dict[str, str] | None = None, as_postgres: bool = False) -> subprocess.Popen[bytes]:
    """Start a detached service (own session, so terminal signals and our exit do not reach it)
    with stdout/stderr appended to its log, and record its pid."""
    log = log_file(root, name)
    with open(log, "ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n"
                  .encode())
        out.flush()
        uid, gid, groups = run_as(as_postgres)
        proc = subprocess.Popen(  # the process outlives this call by design
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            user=uid, group=gid, extra_groups=groups,
        )
    pid_file(root, name).write_text(f"{proc.pid}\n")
    _CHILDREN[proc.pid] = proc
    return proc


# Popen objects of services started by this process: kept so they are not garbage-collected
# (which warns about a still-running child) and so a stop can reap them.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def wait_ready(root: Path, name: str, proc: subprocess.Popen[bytes],
                check: Callable[[], bool]) -> None:
    """Poll ``check`` until it passes; on early exit or timeout stop the process and raise."""
    deadline = time.monotonic() + READY_TIMEOUT_S[name]
    while True:
        code = proc.poll()
        if code is not None:
            pid_file(root, name).unlink(missing_ok=True)
            raise StackError(f"{name} exited with code {code} while starting "
                             f"(log {log_file(root, name)}):\n{_log_tail(root, name)}")
        if check():
            return
        if time.monotonic() > deadline:
            stop(root, name, proc.pid)
            pid_file(root, name).unlink(missing_ok=True)
            raise StackError(f"{name} was not ready within {READY_TIMEOUT_S[name]:.0f} s "
                             f"(log {log_file(root, name)}):\n{_log_tail(root, name)}")
        time.sleep(0.1)


def stop(root: Path, name: str, pid: int) -> None:
    """Ask politely, wait bounded, then SIGKILL the process group (it leads its own session)."""
    if name == "postgres":
        # Fast shutdown: ends sessions, checkpoints, exits; pg_ctl waits for it.
        with contextlib.suppress(subprocess.SubprocessError, OSError, StackError):
            run_pg(["pg_ctl", "-D", str(pg_data(root)), "stop", "-m", "fast", "-w",
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
