"""``domain-runner``: one module per command group, with the views beside them."""

from __future__ import annotations

from streams.cli.main import main

__all__ = [
    "main",
]
