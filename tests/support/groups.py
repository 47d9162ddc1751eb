"""Run consumer groups in the test process, and publish sample brands, for stack tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka.structs import RecordMetadata

from consumers import select_groups
from producers.domain_file import DomainEntry
from producers.domains import publish_run
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.runtime.runner import run_groups
from streams.simulator import load_brands


@asynccontextmanager
async def running_groups(groups: list[str], settings: Settings) -> AsyncIterator[None]:
    stop, started = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_groups(select_groups(groups), settings, stop, started))
    try:
        # FastStream starts subscribers one after another, each through its group's join: a
        # run published before the last has joined would find some groups not yet consuming.
        waiter = asyncio.create_task(started.wait())
        try:
            done, _ = await asyncio.wait({task, waiter}, timeout=90,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if task in done:
            task.result()  # raises what ended the groups
        assert started.is_set(), "the groups did not start within 90 s"
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


def brand_entries(count: int, offset: int = 0) -> list[DomainEntry]:
    """Sample brands by position. Tests share topics and tables, so each owns its range:
    pipeline 0-49, 55; validation 50-54; intelligence scenario 61-113 (its own list); outages
    0-19, 76-79, 115-118; poison 100; broker restart 120-149; crashes 130-213."""
    brands = load_brands()
    assert offset + count <= len(brands), f"only {len(brands)} sample brands"
    return [
        DomainEntry(line=i, domain=b.domain, name=b.name, aliases=b.aliases)
        for i, b in enumerate(brands[offset: offset + count])
    ]


async def publish_domains(settings: Settings, entries: list[DomainEntry], run_id: uuid.UUID,
                          *, samples: int = 1, providers: list[str] | None = None
                          ) -> list[RecordMetadata]:
    broker = create_broker(settings)
    async with broker:
        await broker.connect()
        return await publish_run(broker, entries, run_id=run_id,
                                 providers=providers or settings.providers, samples=samples)
