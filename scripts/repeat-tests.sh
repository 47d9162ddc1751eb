#!/usr/bin/env bash
# Flakiness, measured: run a test path N times, each run a fresh pytest session on a fresh local
# stack (the session fixture starts one in a temporary folder and removes it), and print passes
# and failures per test.
#
#   bash scripts/repeat-tests.sh tests/faults 10            # a quiet machine
#   bash scripts/repeat-tests.sh tests/faults 10 --cpu-hog  # one core kept busy meanwhile
#
# Results (JUnit XML and the output of each run) stay in $DR_REPEAT_DIR (default: a new
# temporary folder, printed). Exits non-zero when any run failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ $# -lt 2 ]; then
    echo "usage: $0 TEST_PATH RUNS [--cpu-hog] [pytest args...]" >&2
    exit 2
fi
target=$1
runs=$2
shift 2
hog=0
if [ "${1:-}" = "--cpu-hog" ]; then
    hog=1
    shift
fi
out=${DR_REPEAT_DIR:-$(mktemp -d -t dr-repeat-XXXXXX)}
mkdir -p "$out"

hog_pid=
cleanup() {
    if [ -n "$hog_pid" ]; then
        kill "$hog_pid" 2>/dev/null || true
        wait "$hog_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
if [ "$hog" -eq 1 ]; then
    # One busy core: a pure-Python spin loop, niced like nothing (it competes as an equal).
    .venv/bin/python -c 'while True: pass' &
    hog_pid=$!
fi

echo "running $target $runs times$([ "$hog" -eq 1 ] && echo ' with one core busy'); results in $out"
for i in $(seq 1 "$runs"); do
    started=$(date +%s)
    set +e
    .venv/bin/python -m pytest -q -p no:cacheprovider "$target" "$@" \
        --junitxml="$out/run-$i.xml" >"$out/run-$i.log" 2>&1
    rc=$?
    set -e
    echo "run $i/$runs: exit $rc in $(( $(date +%s) - started )) s ($(tail -n 1 "$out/run-$i.log"))"
done

.venv/bin/python - "$out" "$runs" <<'PY'
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

folder, runs = Path(sys.argv[1]), int(sys.argv[2])
outcomes: dict[str, list[str]] = defaultdict(list)
for i in range(1, runs + 1):
    path = folder / f"run-{i}.xml"
    if not path.exists():
        outcomes["(session: no report)"].append("error")
        continue
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes[name].append("fail")
        elif case.find("skipped") is not None:
            outcomes[name].append("skip")
        else:
            outcomes[name].append("pass")
failed_runs = 0
for i in range(1, runs + 1):
    path = folder / f"run-{i}.xml"
    if not path.exists():
        failed_runs += 1
        continue
    suite = ET.parse(path).getroot().find("testsuite")
    if suite is not None and int(suite.get("failures", 0)) + int(suite.get("errors", 0)):
        failed_runs += 1
width = max(len(name) for name in outcomes) if outcomes else 10
print(f"{'test':<{width}}  pass  fail  skip")
for name, results in sorted(outcomes.items()):
    print(f"{name:<{width}}  {results.count('pass'):>4}  {results.count('fail'):>4}  "
          f"{results.count('skip'):>4}")
print(f"runs passing: {runs - failed_runs} of {runs}")
sys.exit(1 if failed_runs else 0)
PY
