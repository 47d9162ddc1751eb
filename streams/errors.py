"""The project's error root (defined beside the contracts, the bottom layer, so they share it)."""

from __future__ import annotations

from contracts.errors import DomainRunnerError

__all__ = ["DomainRunnerError"]
