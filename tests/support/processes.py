"""Consumer groups as real processes, for tests that kill them."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streams.cli.demo import start_group_process


class GroupProcesses:
    """Starts ``domain-runner run GROUP`` processes; every one is killed on exit."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self._log_dir = log_dir
        self._env = env
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, group: str) -> None:
        self._processes[group] = start_group_process(group, self._log_dir / f"{group}.log",
                                                     self._env)

    def kill(self, group: str) -> None:
        """SIGKILL: no shutdown hooks, no final commit, as in a crash."""
        process = self._processes.pop(group)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self._processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self._processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._processes.clear()

    def log(self, group: str) -> str:
        return (self._log_dir / f"{group}.log").read_text(errors="replace")


@contextmanager
def group_processes(log_dir: Path, **settings: str) -> Iterator[GroupProcesses]:
    env = os.environ.copy()
    env.update({f"DR_{name.upper()}": value for name, value in settings.items()})
    processes = GroupProcesses(log_dir, env)
    try:
        yield processes
    finally:
        processes.stop_all()
