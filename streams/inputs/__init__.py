"""Input from outside the deployment: files read line by line within bounds, and URLs fetched
only from public addresses."""

from __future__ import annotations

from streams.inputs.safe_fetch import (
    FetchError,
    RefusedAddress,
    ResolutionError,
    Resolver,
    SafeFetcher,
    Target,
    TooManyRedirects,
    public_resolver,
    static_resolver,
    system_resolver,
)
from streams.inputs.text_input import InputError, Line, open_input, read_lines

__all__ = [
    "FetchError",
    "InputError",
    "Line",
    "RefusedAddress",
    "ResolutionError",
    "Resolver",
    "SafeFetcher",
    "Target",
    "TooManyRedirects",
    "open_input",
    "public_resolver",
    "read_lines",
    "static_resolver",
    "system_resolver",
]
