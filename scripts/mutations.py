"""The five deliberate mutations of issue 15, each applied to a scratch copy of the tree and run
against the tests that guard it; prints which tests fail. A guard that passed under its mutation
would be a test that cannot fail.

    .venv/bin/python scripts/mutations.py [NAME ...]   # all five by default (stack tests: ~15 min)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name: (file, original text, mutated text, tests that must fail)
MUTATIONS: dict[str, tuple[str, str, str, list[str]]] = {
    "aliases-ignored": (
        "streams/validation/mentions.py",
        "names = sorted({n.strip() for n in (brand.name, *brand.aliases) if n and n.strip()},",
        "names = sorted({n.strip() for n in (brand.name,) if n and n.strip()},",
        ["tests/validation/test_mentions.py", "tests/validation/test_mention_truth.py",
         "tests/validation/test_mention_cases.py"]),
    "decline-rule-removed": (
        "streams/validation/mentions.py",
        "declining = [span for span in _clauses(text) if _DECLINE.search(text, *span)]",
        "declining: list[tuple[int, int]] = []",
        ["tests/validation/test_mentions.py", "tests/validation/test_mention_truth.py",
         "tests/validation/test_mention_cases.py"]),
    "z-test-at-0.2": (
        "streams/scoring/stats.py",
        "return self.p_value < ALPHA",
        "return self.p_value < 0.2",
        ["tests/truth/test_scoring_truth.py::test_changes_are_flagged_only_when_significant"]),
    "capture-drops-1-in-100": (
        "streams/runs/store.py",
        "    columns: list[list[Any]] = [[getattr(r, name) for r in responses]",
        "    responses = [r for r in responses if r.call_id.int % 100 != 0]\n"
        "    columns: list[list[Any]] = [[getattr(r, name) for r in responses]",
        ["tests/e2e/test_pipeline.py"]),
    "cost-per-1k-tokens": (
        "streams/providers/types.py",
        "+ output_tokens * self.output_price_per_mtok) / 1_000_000",
        "+ output_tokens * self.output_price_per_mtok) / 1_000",
        ["tests/e2e/test_pipeline.py"]),
}


def run(name: str) -> str:
    path, original, mutated, tests = MUTATIONS[name]
    with tempfile.TemporaryDirectory(prefix=f"dr-mutation-{name}-") as scratch:
        tree = Path(scratch) / "tree"
        shutil.copytree(ROOT, tree, symlinks=True,
                        ignore=shutil.ignore_patterns(".stack", "__pycache__", ".mypy_cache",
                                                      ".ruff_cache", ".git"))
        # The shared fixtures sit next to the project, as they do in CI.
        (Path(scratch) / "shared").symlink_to(ROOT.parent / "shared")
        target = tree / path
        text = target.read_text()
        if text.count(original) != 1:
            return f"{name}: the code to mutate is not found once in {path}"
        target.write_text(text.replace(original, mutated))
        result = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-rf", *tests], cwd=tree, capture_output=True, text=True, timeout=1800)
        failed = [line.split(" ", 1)[1].split(" - ")[0] for line in result.stdout.splitlines()
                  if line.startswith("FAILED ")]
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        verdict = "caught" if failed else "NOT CAUGHT"
        return f"{name}: {verdict} ({summary})" + "".join(f"\n    {f}" for f in failed)


if __name__ == "__main__":
    names = sys.argv[1:] or list(MUTATIONS)
    for mutation in names:
        print(run(mutation), flush=True)
