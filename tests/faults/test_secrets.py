"""No configured key value appears in any log, output or message of an end-to-end run."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from streams.providers.catalog import PROVIDERS

pytestmark = pytest.mark.stack


def test_demo_run_logs_no_key() -> None:
    with tempfile.TemporaryDirectory(prefix="dr-secrets-") as folder:
        stack_dir = Path(folder)
        os.chmod(stack_dir, 0o755)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DR_") and "_API_KEY" not in k}
        env["DR_STACK_DIR"] = str(stack_dir)
        # Keys from the environment win over the stack's env file: these are the ones in use.
        keys = []
        for provider in PROVIDERS:
            for suffix in ("", "_2"):
                keys.append(f"sk-test-{secrets.token_hex(16)}")
                env[f"{provider.upper()}_API_KEY{suffix}"] = keys[-1]
        try:
            result = subprocess.run(
                [sys.executable, "-m", "streams.cli", "-v", "demo", "--limit", "4"],
                capture_output=True, text=True, timeout=300, env=env,
            )
            logs = {path: path.read_text(errors="replace") for path in stack_dir.rglob("*.log")}
        finally:
            subprocess.run([sys.executable, "-m", "streams.cli", "stack", "down"], env=env,
                           timeout=60, check=False, capture_output=True)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert "status complete" in result.stdout
        assert any(name.name in {"capture.log", "provider-calls.log"} for name in logs)
        texts = {"stdout": result.stdout, "stderr": result.stderr}
        texts.update({str(path): text for path, text in logs.items()})
        for key in keys:
            for where, text in texts.items():
                assert key not in text, f"a key value appears in {where}"
