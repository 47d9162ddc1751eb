"""Reading a provider's JSON body defensively: each helper raises :class:`ShapeError` (never
KeyError, TypeError or IndexError), since the body comes from the network."""

from __future__ import annotations

from typing import Any

from streams.errors import DomainRunnerError

__all__ = ["ShapeError", "items", "obj", "opt_int", "opt_str"]


class ShapeError(DomainRunnerError, ValueError):
    """The JSON body is not shaped as the wire format promises (becomes MalformedResponse)."""


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(f"{where} is not an object")
    return value


def items(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ShapeError(f"{where} is not an array")
    return value


def opt_str(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ShapeError(f"{where} is not a string")


def opt_int(value: Any, where: str) -> int:
    """A token count; absent means zero, anything but a non-negative integer is malformed."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ShapeError(f"{where} is not a non-negative integer")
    return value
