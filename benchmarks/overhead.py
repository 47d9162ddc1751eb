"""Overhead benchmark: what the pipeline itself costs per call, with a provider that answers at
once and no rate limits, the groups as separate processes as a deployment runs them.

1. Start each group's processes and time them: ``start_s`` from process start to the last of
   its subscribers consuming (imports, connections, subscriptions: FastStream's "waiting for
   messages"), ``join_s`` on to the first partition assignment (the broker's group join, stated
   apart: Kafka holds a new group's first join for ``group.initial.rebalance.delay.ms``).
2. Peak: a census run published at once; ``calls_per_s`` is the stored-calls rate in its steady
   state (from 20 % to 80 % of the calls stored; ``run_calls_per_s`` over the whole run, from
   publishing to the last call stored), ``cpu_ms_per_call`` the CPU (user + system,
   from ``/proc``) of the project's own processes — not the broker's, PostgreSQL's, Redis's or
   the simulator's — per stored call over the whole run; ``machine_cpu_ms_per_call`` the whole
   machine's busy CPU per stored call (everything on it: what the infrastructure adds), and
   ``infra_cpu_ms_per_call`` per service, ``group_cpu_ms_per_call`` per group.
3. Half load: domains published at half the peak rate (``--hop-load`` another rate);
   ``p99_hop_ms`` per hop, from the rows'
   timestamps: publish → planned (``run_domains.planned_at``), planned → answered
   (``calls.planned_at`` → ``responses.responded_at``), answered → stored (→ ``stored_at``).
4. ``max_rss_mb`` per group: the largest peak resident set (``VmHWM``) of its processes.

    python benchmarks/overhead.py [--quick] [--domains 1000] [--processes 2] [--intelligence]
                                  [--profile DIR] [--hop-load CALLS_PER_S]

``--intelligence`` also runs reality-validation, embedding, scoring, visibility and sources.
The last line printed is one JSON object with every figure."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Bench, bench_stack, domains, keys_env, limits_env, log
from producers.domains import publish_run
from streams.config import Settings
from streams.devstack.processes import live_pid
from streams.kafka.broker import create_broker
from streams.providers.catalog import PROVIDERS

PROMPTS = 3
QUICK_DOMAINS = 300
DOMAINS = 1000
POLL_S = 0.2
INTELLIGENCE = ["reality-validation", "embedding", "scoring", "visibility", "sources"]
TICKS = os.sysconf("SC_CLK_TCK")


def _log_time(line: str) -> float | None:
    """The wall-clock time of a log line (``2026-12-02 05:01:02,345 INFO …``)."""
    try:
        stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    except ValueError:
        return None
    return stamp.timestamp()


def _first(path: Path, text: str) -> float | None:
    if not path.exists():
        return None
    for line in path.read_text(errors="replace").splitlines():
        if text in line:
            return _log_time(line)
    return None


def _subscribed(path: Path) -> float | None:
    """When the last of a process's subscribers started consuming (before its first
    assignment)."""
    if not path.exists():
        return None
    times: list[float | None] = []
    for line in path.read_text(errors="replace").splitlines():
        if "assigned to partitions" in line:
            break
        if "waiting for messages" in line:
            times.append(_log_time(line))
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _after(times: list[float | None], since: float) -> float | None:
    """Seconds from ``since`` until the last of ``times`` (None if one is missing)."""
    known = [t for t in times if t is not None]
    return round(max(known) - since, 2) if known and len(known) == len(times) else None


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its waited-for children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (every process: the simulator, PostgreSQL,
    Redis and the broker too), from ``/proc/stat``."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICKS


def _infra_cpu_s(bench: Bench) -> dict[str, float]:
    """CPU seconds of each service of the stack: the broker, PostgreSQL (its server processes
    with it), Redis and the simulator."""
    used: dict[str, float] = {}
    for name in ("broker", "postgres", "redis", "simulator"):
        pid = live_pid(bench.folder / "stack", name)
        pids = [] if pid is None else [pid] + [
            int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat")
            if _parent(stat) == pid]
        used[name] = sum(_cpu_s(each) for each in pids if Path(f"/proc/{each}").exists())
    return used


def _parent(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _group_cpu_s(bench: Bench) -> dict[str, float]:
    return {group: sum(_cpu_s(p.pid) for p in procs if p.poll() is None)
            for group, procs in bench.processes.items()}


def _stored(bench: Bench, run_id: uuid.UUID) -> tuple[int, int, str]:
    state = bench.run_state(run_id) or {}
    done = (state.get("succeeded_calls", 0) + state.get("failed_calls", 0)
            + state.get("skipped_calls", 0))
    return done, state.get("expected_calls", 0), state.get("status", "absent")


def _steady_rate(samples: list[tuple[float, int]], total: int) -> float:
    """Stored calls per second between 20 % and 80 % of ``total`` stored."""
    low = next((t, n) for t, n in samples if n >= 0.2 * total)
    high = next((t, n) for t, n in samples if n >= 0.8 * total)
    return (high[1] - low[1]) / (high[0] - low[0]) if high[0] > low[0] else float("nan")


def _p99(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    return statistics.quantiles(values, n=100, method="inclusive")[98]


async def _publish_paced(entries: list[Any], run_id: uuid.UUID, per_s: float,
                         ) -> dict[str, float]:
    """Publish one domain at a time at ``per_s`` domains a second; returns each one's send
    time (wall clock)."""
    sent: dict[str, float] = {}
    broker = create_broker(Settings())
    async with broker:
        await broker.connect()
        started = time.monotonic()
        for index, entry in enumerate(entries):
            wait = started + index / per_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            sent[entry.domain] = time.time()
            await publish_run(broker, [entry], run_id=run_id, providers=list(PROVIDERS))
    return sent


async def _hops(dsn: str, run_id: uuid.UUID, sent: dict[str, float]) -> dict[str, float | None]:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        planned = await connection.fetch(
            "SELECT domain, extract(epoch FROM planned_at) AS at FROM run_domains "
            "WHERE run_id = $1", run_id)
        calls = await connection.fetch(
            """SELECT extract(epoch FROM c.planned_at) AS planned,
                      extract(epoch FROM r.responded_at) AS answered,
                      extract(epoch FROM r.stored_at) AS stored
               FROM calls c JOIN responses r USING (call_id) WHERE c.run_id = $1""", run_id)
    finally:
        await connection.close()
    return {
        "publish_to_planned": _p99([(float(r["at"]) - sent[r["domain"]]) * 1000
                                    for r in planned if r["domain"] in sent]),
        "planned_to_answered": _p99([(float(r["answered"]) - float(r["planned"])) * 1000
                                     for r in calls]),
        "answered_to_stored": _p99([(float(r["stored"]) - float(r["answered"])) * 1000
                                    for r in calls]),
    }


def _profile(bench: Bench, folder: Path) -> list[subprocess.Popen[bytes]]:
    """One py-spy sampler per project process, writing folded stacks (``--format raw``)."""
    folder.mkdir(parents=True, exist_ok=True)
    beside = Path(sys.executable).with_name("py-spy")  # installed into the same environment
    spy = str(beside) if beside.exists() else "py-spy"
    return [subprocess.Popen([spy, "record", "--format", "raw", "--rate", "200",
                              "--pid", str(proc.pid), "--output",
                              str(folder / f"{group}-{proc.pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for group, procs in bench.processes.items() for proc in procs]


def _print_hottest(folder: Path, top: int = 12) -> None:
    """Per group, the functions most often on top of the stack (self time), as shares."""
    by_group: dict[str, Counter[str]] = {}
    for path in sorted(folder.glob("*.txt")):
        counts = by_group.setdefault(path.stem.rsplit("-", 1)[0], Counter())
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                counts[stack.split(";")[-1]] += int(count)
    for group, counts in by_group.items():
        total = sum(counts.values()) or 1
        log(f"{group}: hottest of {total} samples (self time)")
        for frame, samples in counts.most_common(top):
            log(f"  {samples / total:6.1%}  {frame}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_DOMAINS} domains")
    parser.add_argument("--domains", type=int, help=f"domains in the peak run ({DOMAINS})")
    parser.add_argument("--processes", type=int, default=2, help="provider-calls processes")
    parser.add_argument("--intelligence", action="store_true",
                        help="also run the intelligence groups")
    parser.add_argument("--half-load-s", type=float, default=None,
                        help="seconds of publishing at half the peak rate (20; quick 10)")
    parser.add_argument("--hop-load", type=float, default=None, metavar="CALLS_PER_S",
                        help="measure the hops at this rate instead of half the peak")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="sample every process of the peak run with py-spy (pip install "
                             "py-spy) into DIR, and print each group's hottest functions")
    args = parser.parse_args()
    count = args.domains or (QUICK_DOMAINS if args.quick else DOMAINS)
    calls = count * len(PROVIDERS) * PROMPTS
    half_load_s = args.half_load_s or (10.0 if args.quick else 20.0)
    groups = {"capture": 1, "provider-calls": args.processes}
    if args.intelligence:
        groups |= {name: 1 for name in INTELLIGENCE}

    with bench_stack(keep_logs=args.keep_logs) as bench:
        bench.sim("POST", "/_sim/config", {"rpm": 100_000_000, "burst": 10_000_000,
                                           "tpm": None, "latency_ms": 0,
                                           "latency_jitter_ms": 0})
        env = {**limits_env(rpm=100_000_000, burst=10_000_000), **keys_env(bench.env, 2),
               "DR_RECONCILE_GRACE_S": "3600", "DR_WEB_PRESENCE_CHECKS": "false"}
        launched: dict[str, float] = {}
        # One group at a time, as a deployment's rolling start would: a group's start is its
        # own, not a share of two cores among every group importing at once.
        for group, processes in groups.items():
            launched[group] = time.time()
            bench.start(group, processes, env)
            bench.wait_assigned(group)
        start_s: dict[str, float | None] = {}
        join_s: dict[str, float | None] = {}
        for group in groups:
            running = [_subscribed(path) for path in bench.logs[group]]
            assigned = [_first(path, "assigned to partitions") for path in bench.logs[group]]
            start_s[group] = _after(running, launched[group])
            up = _after(running, 0.0)
            join_s[group] = None if up is None else _after(assigned, up)
        log(f"started: {start_s} s; group join after that: {join_s} s")

        # -- peak --------------------------------------------------------------------------
        bench.sim("POST", "/_sim/reset")
        cpu_before, machine_before = _group_cpu_s(bench), _machine_busy_s()
        infra_before = _infra_cpu_s(bench)
        profilers = _profile(bench, args.profile) if args.profile else []
        started = time.monotonic()
        run_id = bench.publish(domains(count, prefix="overhead"))
        samples: list[tuple[float, int]] = []
        while True:
            done, _, status = _stored(bench, run_id)
            samples.append((time.monotonic() - started, done))
            if status not in ("running", "absent"):
                break
            if time.monotonic() - started > 600:
                raise TimeoutError(f"peak run not finished after 600 s ({done} stored)")
            time.sleep(POLL_S)
        seconds = time.monotonic() - started
        group_ms_per_call = {group: round((used - cpu_before[group]) * 1000 / max(done, 1), 3)
                             for group, used in _group_cpu_s(bench).items()}
        cpu_ms_per_call = sum(group_ms_per_call.values())
        machine_ms_per_call = (_machine_busy_s() - machine_before) * 1000 / max(done, 1)
        infra_ms_per_call = {name: round((used - infra_before[name]) * 1000 / max(done, 1), 3)
                             for name, used in _infra_cpu_s(bench).items()}
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
            profiler.wait(timeout=60)
        if args.profile:
            _print_hottest(args.profile)
        calls_per_s = _steady_rate(samples, calls)
        log(f"peak: {done} of {calls} calls stored in {seconds:.1f} s; steady state "
            f"{calls_per_s:.0f} calls/s; {cpu_ms_per_call:.2f} ms CPU per call "
            f"({machine_ms_per_call:.2f} ms on the whole machine, with the simulator, "
            f"PostgreSQL, Redis and the broker: {infra_ms_per_call}); per group "
            f"{group_ms_per_call}")

        # -- half load ---------------------------------------------------------------------
        per_s = (args.hop_load or calls_per_s / 2) / (len(PROVIDERS) * PROMPTS)
        half = domains(max(1, round(per_s * half_load_s)), prefix=f"half-{uuid.uuid4().hex[:6]}")
        half_run = uuid.uuid4()
        sent = asyncio.run(_publish_paced(half, half_run, per_s))
        deadline = time.monotonic() + 300
        while _stored(bench, half_run)[0] < len(half) * len(PROVIDERS) * PROMPTS:
            if time.monotonic() > deadline:
                raise TimeoutError("half-load run not stored within 300 s")
            time.sleep(POLL_S)
        hops = asyncio.run(_hops(bench.env["DR_POSTGRES_DSN"], half_run, sent))
        log(f"half load ({per_s * len(PROVIDERS) * PROMPTS:.0f} calls/s): p99 per hop {hops}")
        rss = {group: round(max(_peak_rss_mb(p.pid) for p in bench.processes[group]), 1)
               for group in groups}

    result = {
        "calls": calls, "stored": done, "seconds": round(seconds, 2),
        "calls_per_s": round(calls_per_s, 1), "run_calls_per_s": round(done / seconds, 1),
        "cpu_ms_per_call": round(cpu_ms_per_call, 3),
        "group_cpu_ms_per_call": group_ms_per_call,
        "machine_cpu_ms_per_call": round(machine_ms_per_call, 3),
        "infra_cpu_ms_per_call": infra_ms_per_call,
        "p99_hop_ms": {hop: None if v is None else round(v, 1) for hop, v in hops.items()},
        "half_load_calls_per_s": round(per_s * len(PROVIDERS) * PROMPTS, 1),
        "max_rss_mb": rss, "start_s": start_s, "join_s": join_s,
        "processes": args.processes, "intelligence": args.intelligence, "quick": args.quick,
        "cpus": os.cpu_count(),
    }
    print(f"overhead: {calls} calls ({count} domains × {len(PROVIDERS)} providers × {PROMPTS} "
          f"prompts), {args.processes} provider-calls processes"
          f"{', intelligence groups on' if args.intelligence else ''}: {calls_per_s:.0f} calls/s "
          f"steady, {cpu_ms_per_call:.2f} ms CPU per call, RSS {rss} MB, start {start_s} s")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
