"""Run consumer groups in this process until told to stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from consumers import capture, provider_calls
from streams.config import Settings
from streams.resources import Resources, open_resources

logger = logging.getLogger(__name__)

GROUPS: dict[str, Callable[[Resources], None]] = {
    capture.GROUP: capture.register,
    provider_calls.GROUP: provider_calls.register,
}


class UnknownGroup(ValueError):
    pass


async def run_groups(groups: list[str], settings: Settings, stop: asyncio.Event) -> None:
    """Start each named group's subscribers on one broker connection; stop when ``stop`` is set."""
    unknown = [group for group in groups if group not in GROUPS]
    if unknown:
        raise UnknownGroup(f"unknown consumer groups {unknown}; known: {sorted(GROUPS)}")
    async with open_resources(settings) as resources:
        for group in groups:
            GROUPS[group](resources)
        await resources.broker.start()
        logger.info("consumer groups running: %s", ", ".join(groups))
        try:
            await stop.wait()
        finally:
            await resources.broker.stop()
