"""Each package says what it offers in ``__init__.py`` with ``__all__`` (after httpx's test of the
same name): every listed name exists, and every public name the package holds is listed, so the
list cannot go stale in either direction."""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(".".join(path.parent.relative_to(ROOT).parts)
                  for top in ("contracts", "streams", "consumers", "producers")
                  for path in (ROOT / top).rglob("__init__.py"))


def test_every_package_is_found() -> None:
    assert {"streams", "streams.kafka", "streams.cli", "consumers", "contracts"} <= set(PACKAGES)


def _ours(value: object, package: str) -> bool:
    """Defined in the package (a helper it imports from elsewhere is not its offer)."""
    module = getattr(value, "__module__", None)
    return not isinstance(module, str) or module == package or module.startswith(package + ".")


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_members(name: str) -> None:
    package = importlib.import_module(name)
    exported = getattr(package, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert [n for n in exported if not hasattr(package, n)] == [], "listed but missing"
    public = sorted(n for n, value in vars(package).items()
                    if not n.startswith("_") and not isinstance(value, types.ModuleType)
                    and n != "annotations" and _ours(value, name))
    assert sorted(set(public) - set(exported)) == [], "public but not in __all__"
