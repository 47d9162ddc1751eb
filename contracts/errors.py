"""The root of every error this project raises on purpose. It lives at the bottom layer so that
contracts, the library and the CLI all derive from it; the CLI turns any of them into one line
and an exit code, never a traceback."""

from __future__ import annotations


class DomainRunnerError(Exception):
    """An error of ours: its message says what happened and, where it can, what to do."""


__all__ = ["DomainRunnerError"]
