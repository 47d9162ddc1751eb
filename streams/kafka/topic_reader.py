"""Read what a topic holds now, and where its true end is.

The broker's ListOffsets "latest" can be wrong (Tansu, see BROKER.md); the high watermark a fetch
reports is right on Tansu and Apache Kafka alike, so every "end" here comes from a fetch."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition

from streams.errors import DomainRunnerError

FETCH_TIMEOUT_MS = 500


class TopicNotFound(DomainRunnerError, LookupError):
    pass


@asynccontextmanager
async def assigned_consumer(
    bootstrap: str, topics: list[str]
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A group-less consumer assigned every partition of ``topics``, positioned at the start."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
        fetch_max_wait_ms=FETCH_TIMEOUT_MS,
    )
    await consumer.start()
    try:
        existing = await consumer.topics()
        partitions: list[TopicPartition] = []
        for topic in topics:
            if topic not in existing:
                raise TopicNotFound(f"no topic {topic!r}")
            partitions += [TopicPartition(topic, p)
                           for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        yield consumer, partitions
    finally:
        await consumer.stop()


async def _fetch_until_highwater_known(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], timeout_s: float
) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
    deadline = time.monotonic() + timeout_s
    fetched: dict[TopicPartition, list[ConsumerRecord[Any, Any]]] = {}
    while any(consumer.highwater(tp) is None for tp in partitions):
        if time.monotonic() > deadline:
            raise TimeoutError("the broker reported no high watermark in time")
        for tp, records in (await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS)).items():
            fetched.setdefault(tp, []).extend(records)
    return fetched


async def true_end_offsets(
    bootstrap: str, topics: list[str], *, timeout_s: float = 10.0
) -> dict[TopicPartition, int]:
    async with assigned_consumer(bootstrap, topics) as (consumer, partitions):
        await _fetch_until_highwater_known(consumer, partitions, timeout_s)
        return {tp: int(consumer.highwater(tp)) for tp in partitions}


async def read_records(
    bootstrap: str, topics: list[str], *, timeout_s: float = 60.0
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record the topics hold now, partition by partition in offset order."""
    async with assigned_consumer(bootstrap, topics) as (consumer, partitions):
        first = await _fetch_until_highwater_known(consumer, partitions, timeout_s)
        ends = {tp: int(consumer.highwater(tp)) for tp in partitions}
        for records in first.values():
            for record in records:
                if record.offset < ends[TopicPartition(record.topic, record.partition)]:
                    yield record
        deadline = time.monotonic() + timeout_s
        while True:
            positions = {tp: await consumer.position(tp) for tp in partitions}
            if all(positions[tp] >= ends[tp] for tp in partitions):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topics} did not reach the end in {timeout_s} s")
            for tp, records in (await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS)).items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield record
