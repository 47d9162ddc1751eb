"""The library under the consumers and producers. The root holds only what every layer shares:
``config`` (the one configuration reader) and ``errors`` (the one error root); everything else
is a sub-package per role."""

from __future__ import annotations

from streams.errors import DomainRunnerError

__all__ = [
    "DomainRunnerError",
]
