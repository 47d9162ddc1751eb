"""Provider budget benchmark: how close the system runs to Σ(key limits) without a 429.

The simulator enforces strict per-key limits (default: 2 keys per provider, each 600 requests/min
with a burst of 20) on all 8 providers. Several provider-calls processes (default 4) work through
a large run with the shared Redis limiter; after a warm-up, the calls the simulator answered are
counted over a long window. Then the same processes run again with the seeds' approach — each
process with its own in-memory limiter at the same configured limits — as the baseline.

    python benchmarks/budget.py [--quick]

Prints progress to stderr and the figures to stdout; the last line is one JSON object with
``utilization``, ``throttled``, ``baseline_utilization``, ``baseline_throttled``."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import (
    Bench,
    bench_stack,
    domains,
    keys_env,
    limits_env,
    log,
)
from streams.providers.catalog import PROVIDERS

CALLS_PER_DOMAIN = len(PROVIDERS) * 3  # 8 providers × 3 prompts
# Work beyond the measured window, so the backlog never runs dry inside it.
MARGIN_S = 30.0


@dataclass(frozen=True)
class Phase:
    limiter: str
    window_s: float
    answered: int
    throttled: int
    calls_per_min: float
    utilization: float
    backlog_left: int


def measure(bench: Bench, run_id: uuid.UUID, *, label: str, warmup_s: float, window_s: float,
            limit_per_s: float) -> Phase:
    """Count what the simulator answers over ``window_s`` after ``warmup_s`` from the first
    answer; 429s are counted from the phase's start (the simulator was reset before it)."""
    deadline = time.monotonic() + 90
    while bench.sim_counts()[0] == 0:
        if time.monotonic() > deadline:
            raise TimeoutError("no call answered within 90 s")
        time.sleep(0.2)
    log(f"{label}: first answers; warming up {warmup_s:.0f} s")
    time.sleep(warmup_s)
    ok0, _ = bench.sim_counts()
    t0 = time.monotonic()
    while (elapsed := time.monotonic() - t0) < window_s:
        time.sleep(min(10.0, window_s - elapsed))
        ok, throttled = bench.sim_counts()
        rate = (ok - ok0) / (time.monotonic() - t0) / limit_per_s
        log(f"{label}: {time.monotonic() - t0:5.1f} s, utilization {rate:.4f}, "
            f"429s so far {throttled}")
    ok1, throttled = bench.sim_counts()
    window = time.monotonic() - t0
    state = bench.run_state(run_id) or {}
    backlog = (state.get("expected_calls", 0) - state.get("succeeded_calls", 0)
               - state.get("failed_calls", 0))
    calls_per_s = (ok1 - ok0) / window
    return Phase(limiter=label, window_s=round(window, 1), answered=ok1 - ok0,
                 throttled=throttled, calls_per_min=round(calls_per_s * 60, 1),
                 utilization=round(calls_per_s / limit_per_s, 4), backlog_left=backlog)


def run_phase(bench: Bench, env: dict[str, str], *, limiter: str, processes: int,
              warmup_s: float, window_s: float, limit_per_s: float, prefix: str) -> Phase:
    bench.sim("POST", "/_sim/reset")  # counters and the simulator's buckets; limits are kept
    bench.start("provider-calls", processes, {**env, "DR_LIMITER_KIND": limiter})
    bench.wait_assigned("provider-calls")
    count = math.ceil(limit_per_s * (warmup_s + window_s + MARGIN_S) / CALLS_PER_DOMAIN)
    log(f"{limiter}: {processes} provider-calls processes ready; publishing {count} domains "
        f"({count * CALLS_PER_DOMAIN} calls)")
    run_id = bench.publish(domains(count, prefix=prefix))
    phase = measure(bench, run_id, label=limiter, warmup_s=warmup_s, window_s=window_s,
                    limit_per_s=limit_per_s)
    if phase.backlog_left < limit_per_s * 5:
        log(f"{limiter}: WARNING the backlog nearly ran out ({phase.backlog_left} calls left)")
    bench.stop("provider-calls")
    return phase


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter windows (under 3 min)")
    parser.add_argument("--processes", type=int, default=4, help="provider-calls processes")
    parser.add_argument("--keys", type=int, default=2, help="keys per provider")
    parser.add_argument("--rpm", type=int, default=600, help="requests/min of each key")
    parser.add_argument("--sim-burst", type=int, default=20,
                        help="the simulator's bucket per key (the provider's burst)")
    parser.add_argument("--burst", type=int, default=10,
                        help="the limiter's bucket per key (at most the provider's)")
    parser.add_argument("--window", type=float, help="measured seconds (default 75, quick 35)")
    parser.add_argument("--baseline-window", type=float,
                        help="measured seconds of the baseline (default 60, quick 20)")
    parser.add_argument("--warmup", type=float, help="seconds not measured (default 10, quick 6)")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=50.0)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    window = args.window or (35.0 if args.quick else 75.0)
    baseline_window = args.baseline_window or (20.0 if args.quick else 60.0)
    warmup = args.warmup or (6.0 if args.quick else 10.0)
    limit_per_s = len(PROVIDERS) * args.keys * args.rpm / 60

    started = time.monotonic()
    with bench_stack(keep_logs=args.keep_logs) as bench:
        bench.sim("POST", "/_sim/config", {
            "rpm": args.rpm, "burst": args.sim_burst, "tpm": None,
            "latency_ms": args.latency_ms, "latency_jitter_ms": args.jitter_ms,
        })
        env = {**limits_env(rpm=args.rpm, burst=args.burst), **keys_env(bench.env, args.keys)}
        bench.start("capture", 1, env)
        bench.wait_assigned("capture")
        shared = run_phase(bench, env, limiter="redis", processes=args.processes,
                           warmup_s=warmup, window_s=window, limit_per_s=limit_per_s,
                           prefix="budget")
        baseline = run_phase(bench, env, limiter="local", processes=args.processes,
                             warmup_s=warmup, window_s=baseline_window,
                             limit_per_s=limit_per_s, prefix="baseline")

    limit_per_min = limit_per_s * 60
    print(f"limit: {len(PROVIDERS)} providers × {args.keys} keys × {args.rpm} rpm = "
          f"{limit_per_min:.0f} calls/min; simulator burst {args.sim_burst}, limiter burst "
          f"{args.burst}; {args.processes} provider-calls processes; latency "
          f"{args.latency_ms:.0f}±{args.jitter_ms:.0f} ms")
    for phase in (shared, baseline):
        name = "shared Redis limiter" if phase.limiter == "redis" else "per-process (baseline)"
        print(f"{name:24} {phase.calls_per_min:8.1f} calls/min over {phase.window_s:.0f} s = "
              f"{phase.utilization:.4f} of the limit, {phase.throttled} × 429")
    result = {
        "utilization": shared.utilization,
        "throttled": shared.throttled,
        "baseline_utilization": baseline.utilization,
        "baseline_throttled": baseline.throttled,
        "calls_per_min": shared.calls_per_min,
        "limit_per_min": limit_per_min,
        "window_s": shared.window_s,
        "processes": args.processes,
        "keys_per_provider": args.keys,
        "quick": args.quick,
        "elapsed_s": round(time.monotonic() - started, 1),
        "phases": [asdict(shared), asdict(baseline)],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
