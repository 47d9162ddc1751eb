"""What the benchmarks share: a local stack of their own in a temporary folder (so a developer's
stack is left alone), consumer groups as separate processes, the simulator's limits and
counters, publishing a run and following it. Everything started here is stopped here."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from producers.domain_file import DomainEntry
from producers.domains import publish_run
from streams.config import PROJECT_ROOT, Settings
from streams.devstack import stack
from streams.kafka.broker import create_broker, create_topics
from streams.providers.catalog import PROVIDERS
from streams.runtime.migrate import migrate
from streams.simulator import load_brands

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def domains(count: int, *, prefix: str) -> list[DomainEntry]:
    """The simulator's real brands first, then made-up ones (``<prefix>-00042.com``)."""
    brands = load_brands()
    entries = [DomainEntry(line=i, domain=b.domain, name=b.name, aliases=b.aliases)
               for i, b in enumerate(brands[:count])]
    entries += [DomainEntry(line=i, domain=f"{prefix}-{i:05d}.com", name=f"{prefix} {i}")
                for i in range(len(entries), count)]
    return entries


@dataclass
class Bench:
    """A running stack with the simulator, and the consumer processes started on it."""

    folder: Path
    env: dict[str, str]
    processes: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)
    logs: dict[str, list[Path]] = field(default_factory=dict)
    _started: int = 0

    @property
    def sim_url(self) -> str:
        return self.env["DR_SIM_URL"]

    # -- simulator ---------------------------------------------------------------------------

    def sim(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.sim_url}{path}", data=data, method=method,
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def sim_counts(self) -> tuple[int, int]:
        """(answered ok, answered 429) over every provider and key, as the simulator counts."""
        stats = self.sim("GET", "/_sim/stats?identities=0")
        ok = sum(c.get("ok", 0) for c in stats["by_provider"].values())
        throttled = sum(c.get("429", 0) for c in stats["by_provider"].values())
        return ok, throttled

    # -- consumer processes ------------------------------------------------------------------

    def start(self, group: str, count: int, extra_env: dict[str, str]) -> None:
        folder = self.folder / "logs"
        folder.mkdir(exist_ok=True)
        started = self.processes.setdefault(group, [])
        logs = self.logs.setdefault(group, [])
        for _ in range(count):
            self._started += 1
            logs.append(folder / f"{self._started:02d}-{group}.log")
            out = logs[-1].open("ab")
            started.append(subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "run", group], cwd=PROJECT_ROOT,
                env={**os.environ, **self.env, **extra_env}, stdout=out, stderr=out,
                stdin=subprocess.DEVNULL, start_new_session=True))

    def wait_assigned(self, group: str) -> None:
        """Until every process of ``group`` has partitions and the group is stable (no new
        assignment for 3 s): joins and rebalances must not count as measured time."""
        logs = self.logs[group]
        deadline = time.monotonic() + READY_TIMEOUT_S
        last: list[int] = []
        stable_since = time.monotonic()
        while True:
            for proc in self.processes[group]:
                if proc.poll() is not None:
                    raise RuntimeError(f"a {group} process exited ({proc.returncode}); "
                                       f"logs in {self.folder / 'logs'}")
            counts = [path.read_text(errors="replace").count("assigned to partitions")
                      if path.exists() else 0 for path in logs]
            if counts != last:
                last, stable_since = counts, time.monotonic()
            elif all(counts) and time.monotonic() - stable_since >= 3.0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group} processes not assigned within {READY_TIMEOUT_S} s")
            time.sleep(0.2)

    def stop(self, group: str) -> None:
        for proc in self.processes.pop(group, []):
            _stop(proc)
        self.logs.pop(group, None)

    def stop_all(self) -> None:
        for group in list(self.processes):
            self.stop(group)

    # -- runs --------------------------------------------------------------------------------

    def publish(self, entries: list[DomainEntry], *, samples: int = 1) -> uuid.UUID:
        run_id = uuid.uuid4()

        async def main() -> None:
            broker = create_broker(Settings())
            async with broker:
                await broker.connect()
                await publish_run(broker, entries, run_id=run_id, providers=list(PROVIDERS),
                                  samples=samples)

        asyncio.run(main())
        return run_id

    def run_state(self, run_id: uuid.UUID) -> dict[str, Any] | None:
        import asyncpg

        async def main() -> dict[str, Any] | None:
            connection = await asyncpg.connect(self.env["DR_POSTGRES_DSN"])
            try:
                row = await connection.fetchrow("SELECT * FROM runs WHERE run_id = $1", run_id)
                return dict(row) if row else None
            finally:
                await connection.close()

        return asyncio.run(main())


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def bench_stack(*, keep_logs: bool = False) -> Iterator[Bench]:
    """A fresh stack in a temporary folder: migrated, topics created, the simulator up."""
    folder = Path(tempfile.mkdtemp(prefix="dr-bench-"))
    folder.chmod(0o755)  # PostgreSQL runs as its own user and must reach its data folder
    stack_dir = folder / "stack"
    # A kill (SIGTERM) must still stop what was started, as Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    bench: Bench | None = None
    try:
        log(f"starting a local stack in {stack_dir}")
        info = stack.stack_up(with_simulator=True, stack_dir=stack_dir)
        env = {**info.env, "DR_STACK_DIR": str(stack_dir)}
        # This process reads its settings from the environment first: the bench stack wins over
        # a developer's stack env file.
        os.environ.update(env)
        settings = Settings()
        asyncio.run(migrate(settings.postgres.dsn.get_secret_value()))
        asyncio.run(create_topics(settings))
        bench = Bench(folder=folder, env=env)
        yield bench
    finally:
        if bench is not None:
            bench.stop_all()
        log("stopping the stack")
        stack.stack_down(stack_dir=stack_dir, purge=True)
        signal.signal(signal.SIGTERM, previous)
        if keep_logs:
            log(f"logs kept in {folder / 'logs'}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def limits_env(*, rpm: int, burst: int, tpm: int = 0) -> dict[str, str]:
    """Every provider's keys limited to ``rpm`` (bucket ``burst``), tokens unlimited unless
    ``tpm``: what the limiter is told."""
    env: dict[str, str] = {}
    for name in PROVIDERS:
        upper = name.upper()
        env[f"DR_{upper}_RPM"] = str(rpm)
        env[f"DR_{upper}_BURST"] = str(burst)
        env[f"DR_{upper}_TPM"] = str(tpm)
    return env


def keys_env(env: dict[str, str], count: int) -> dict[str, str]:
    """Variables giving every provider ``count`` keys: the stack's two, fewer, or more made up
    (the simulator accepts any key and limits each on its own); an empty ``_API_KEY_<n+1>``
    ends the list."""
    out: dict[str, str] = {}
    for name in PROVIDERS:
        upper = name.upper()
        for index in range(1, count + 2):
            var = f"{upper}_API_KEY" if index == 1 else f"{upper}_API_KEY_{index}"
            out[var] = ("" if index > count
                        else env.get(var) or f"bench-{name}-{index}-{uuid.uuid4().hex[:12]}")
    return out
