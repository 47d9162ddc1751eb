#!/usr/bin/env bash
# The test suite on real parts: services named by DR_TEST_* variables, else testcontainers where a
# Docker engine answers, else the project's local stack (started and stopped by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check streams consumers producers contracts tests benchmarks
.venv/bin/mypy
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
