#!/usr/bin/env bash
# The main job end to end on the embedded default: local stack, every consumer group, the sample
# brands, a live progress bar and the run's report; then it stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/domain-runner demo "$@"
