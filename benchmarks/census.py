"""Census benchmark: a full census — 3,239 domains × 8 providers × 3 prompts (77,736 calls) — at
the per-key limits given on the command line, timed from publishing the run until it is finished
in PostgreSQL, against the rate-limit floor (calls ÷ Σ key limits).

The simulator enforces the same per-key limits (with its own burst); capture and the
provider-calls processes run as the deployment runs them. ``--quick`` (or ``--domains``) scales
the census down.

    python benchmarks/census.py [--quick] [--rpm 600] [--keys 2] [--domains 3239]

The last line printed is one JSON object with ``calls``, ``seconds``, ``floor_seconds`` and
``ratio`` (seconds ÷ floor)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import bench_stack, domains, keys_env, limits_env, log
from streams.providers.catalog import PROVIDERS

CENSUS_DOMAINS = 3239
QUICK_DOMAINS = 300
PROMPTS = 3
POLL_S = 0.25


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_DOMAINS} domains instead of {CENSUS_DOMAINS}")
    parser.add_argument("--domains", type=int, help="domains in the census")
    parser.add_argument("--rpm", type=int, default=600, help="requests/min of each key")
    parser.add_argument("--keys", type=int, default=2, help="keys per provider")
    parser.add_argument("--burst", type=int, default=10, help="the limiter's bucket per key")
    parser.add_argument("--sim-burst", type=int, default=20,
                        help="the simulator's (provider's) bucket per key")
    parser.add_argument("--processes", type=int, default=4, help="provider-calls processes")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=50.0)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    count = args.domains or (QUICK_DOMAINS if args.quick else CENSUS_DOMAINS)
    calls = count * len(PROVIDERS) * PROMPTS
    limit_per_s = len(PROVIDERS) * args.keys * args.rpm / 60
    floor_s = calls / limit_per_s

    with bench_stack(keep_logs=args.keep_logs) as bench:
        bench.sim("POST", "/_sim/config", {
            "rpm": args.rpm, "burst": args.sim_burst, "tpm": None,
            "latency_ms": args.latency_ms, "latency_jitter_ms": args.jitter_ms,
        })
        env = {
            **limits_env(rpm=args.rpm, burst=args.burst),
            **keys_env(bench.env, args.keys),
            # A call still queued behind the census is not lost work: the reconciler must not
            # re-publish the backlog while it is being worked through.
            "DR_RECONCILE_GRACE_S": str(max(300.0, 2 * floor_s)),
        }
        bench.start("capture", 1, env)
        bench.start("provider-calls", args.processes, env)
        bench.wait_assigned("capture")
        bench.wait_assigned("provider-calls")
        bench.sim("POST", "/_sim/reset")
        entries = domains(count, prefix="census")
        log(f"publishing {count} domains ({calls} calls); floor {floor_s:.1f} s at "
            f"{limit_per_s * 60:.0f} calls/min")
        started = time.monotonic()
        run_id = bench.publish(entries)
        last_report = started
        first_answer: float | None = None
        while True:
            state = bench.run_state(run_id)
            if state and state["status"] != "running":
                break
            now = time.monotonic()
            answered, _ = bench.sim_counts()
            if answered and first_answer is None:
                first_answer = now - started
            if now - last_report >= 15 and state:
                done = state["succeeded_calls"] + state["failed_calls"] + state["skipped_calls"]
                log(f"{now - started:6.1f} s: provider answered {answered}, stored {done} of "
                    f"{state['expected_calls']} planned; {answered / (now - started) * 60:.0f} "
                    "calls/min")
                last_report = now
            if now - started > 4 * floor_s + 120:
                raise TimeoutError(f"census not finished after {now - started:.0f} s")
            time.sleep(POLL_S)
        seconds = time.monotonic() - started
        _, throttled = bench.sim_counts()

    print(f"census: {count} domains × {len(PROVIDERS)} providers × {PROMPTS} prompts = {calls} "
          f"calls at {len(PROVIDERS)} × {args.keys} keys × {args.rpm} rpm "
          f"({limit_per_s * 60:.0f} calls/min), {args.processes} provider-calls processes")
    print(f"run {state['status']}: {state['succeeded_calls']} ok, {state['failed_calls']} "
          f"failed; {seconds:.1f} s against a floor of {floor_s:.1f} s = "
          f"{seconds / floor_s:.4f}; {throttled} × 429")
    print(json.dumps({
        "calls": calls, "seconds": round(seconds, 2), "floor_seconds": round(floor_s, 2),
        "ratio": round(seconds / floor_s, 4), "throttled": throttled,
        "first_answer_s": None if first_answer is None else round(first_answer, 2),
        "succeeded": state["succeeded_calls"], "failed": state["failed_calls"],
        "status": state["status"], "domains": count, "keys_per_provider": args.keys,
        "rpm_per_key": args.rpm, "processes": args.processes, "quick": args.quick,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
