"""The local stack: Tansu, PostgreSQL, Redis and the provider simulator as background
processes on loopback ports."""

from __future__ import annotations

from streams.devstack.stack import (
    SERVICES,
    StackInfo,
    stack_down,
    stack_env,
    stack_status,
    stack_up,
)

__all__ = [
    "SERVICES",
    "StackInfo",
    "stack_down",
    "stack_env",
    "stack_status",
    "stack_up",
]
