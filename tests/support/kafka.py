"""Bounded waits on real Kafka state, for tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, timeout_s: float, what: str, every_s: float = 0.25
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(every_s)


async def wait_committed(
    bootstrap: str, group: str, published: Iterable[Any], *, timeout_s: float
) -> None:
    """Wait until ``group`` has committed past every record in ``published`` (RecordMetadata):
    the end is taken from what was produced, not from the broker's end offsets (see BROKER.md)."""
    targets: dict[TopicPartition, int] = {}
    for meta in published:
        tp = TopicPartition(meta.topic, meta.partition)
        targets[tp] = max(targets.get(tp, 0), meta.offset + 1)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async def done() -> bool:
            committed = await admin.list_consumer_group_offsets(group, partitions=list(targets))
            return all(
                tp in committed and committed[tp].offset >= end for tp, end in targets.items()
            )

        await wait_until(done, timeout_s=timeout_s, what=f"group {group} to commit {targets}")
    finally:
        await admin.close()
