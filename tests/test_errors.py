"""One error root: every exception class the project defines derives from ``DomainRunnerError``,
and the CLI turns any of them into one line and exit code 2, never a traceback."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

from streams.errors import DomainRunnerError

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> list[str]:
    names = []
    for top in ("contracts", "streams", "consumers", "producers"):
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] not in ("__init__", "__main__"):
                names.append(".".join(parts))
    return sorted(names)


def test_every_error_we_define_derives_from_the_root() -> None:
    stray = []
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == name and not attr.startswith("_")
                    and not issubclass(value, DomainRunnerError)):
                stray.append(f"{name}.{attr}")
    assert stray == []


def test_the_cli_prints_one_line_for_an_error_of_ours() -> None:
    result = subprocess.run([sys.executable, "-m", "streams.cli", "run", "no-such-group"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("UnknownGroup: unknown consumer groups"), lines
