"""Replay and lag on the real broker, including where Tansu's answers differ from Kafka's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.kafka.topic_reader import read_records, true_end_offsets
from streams.ops.lag import consumer_lag
from streams.ops.replay import ReplayRefused, copy_range, execute_reset, plan_reset

pytestmark = pytest.mark.stack

PARTITIONS = 3
PER_PARTITION = 20


@pytest.fixture
async def scratch_topic(migrated: Settings) -> AsyncIterator[str]:
    """A topic holding 20 records in each of 3 partitions, sent in multi-record batches."""
    name = f"scratch-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=migrated.kafka.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    producer = AIOKafkaProducer(bootstrap_servers=migrated.kafka.bootstrap, linger_ms=20)
    await producer.start()
    try:
        futures = [await producer.send(name, f"v{i}".encode(), partition=p)
                   for p in range(PARTITIONS) for i in range(PER_PARTITION)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    yield name
    await admin.delete_topics([name])  # the local broker frees memory only on delete
    await admin.close()


async def consume_and_commit(bootstrap: str, topic: str, group: str, per_partition: int) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.commit({tp: per_partition for tp in partitions})
    finally:
        await consumer.stop()


async def test_lag_uses_the_true_end(migrated: Settings, scratch_topic: str) -> None:
    ends = await true_end_offsets(migrated.kafka.bootstrap, [scratch_topic])
    assert list(ends.values()) == [PER_PARTITION] * PARTITIONS
    group = f"lag-{uuid.uuid4().hex[:6]}"
    await consume_and_commit(migrated.kafka.bootstrap, scratch_topic, group, 7)
    lags = [item for item in await consumer_lag(migrated.kafka.bootstrap, [scratch_topic])
            if item.group == group]
    assert [(item.committed, item.end, item.lag) for item in lags] == [(7, 20, 13)] * PARTITIONS


async def test_reset_refused_while_live_then_applied(
    migrated: Settings, scratch_topic: str
) -> None:
    bootstrap = migrated.kafka.bootstrap
    group = f"reset-{uuid.uuid4().hex[:6]}"
    await consume_and_commit(bootstrap, scratch_topic, group, 15)
    moves = await plan_reset(bootstrap, group, scratch_topic, shift_by=-10)
    assert [(m.current, m.target) for m in moves] == [(15, 5)] * PARTITIONS
    # Beyond the end is clamped to the true end, never past it.
    assert [m.target for m in await plan_reset(bootstrap, group, scratch_topic,
                                               to_offset=999)] == [20] * PARTITIONS

    with pytest.raises(ReplayRefused, match="2 live member"):
        await execute_reset(bootstrap, group, moves, live_processes=2,
                            trust_broker_membership=False)
    await execute_reset(bootstrap, group, moves, live_processes=0, trust_broker_membership=False)
    lags = [item for item in await consumer_lag(bootstrap, [scratch_topic]) if item.group == group]
    assert [item.committed for item in lags] == [5] * PARTITIONS


async def test_reset_to_datetime(migrated: Settings, scratch_topic: str) -> None:
    bootstrap = migrated.kafka.bootstrap
    group = f"time-{uuid.uuid4().hex[:6]}"
    await consume_and_commit(bootstrap, scratch_topic, group, 20)
    past = await plan_reset(bootstrap, group, scratch_topic,
                            to_datetime=datetime.now().astimezone() - timedelta(hours=1))
    assert [m.target for m in past] == [0] * PARTITIONS
    # After the last record Tansu answers offset 0; the reset must go to the end instead.
    future = await plan_reset(bootstrap, group, scratch_topic,
                              to_datetime=datetime.now().astimezone() + timedelta(hours=1))
    assert [m.target for m in future] == [20] * PARTITIONS


async def test_copy_range_adds_replay_headers(migrated: Settings, scratch_topic: str) -> None:
    bootstrap = migrated.kafka.bootstrap
    into = f"{scratch_topic}-copy"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(into, 1, 1)])
    try:
        broker = create_broker(migrated)
        async with broker:
            await broker.connect()
            copied = await copy_range(bootstrap, broker, scratch_topic, into,
                                      since=datetime.now().astimezone() - timedelta(hours=1))
        assert copied == PARTITIONS * PER_PARTITION
        records = [r async for r in read_records(bootstrap, [into])]
        assert len(records) == copied
        headers = dict((k, v.decode()) for k, v in records[0].headers)
        assert headers["x-replay-source-topic"] == scratch_topic
        assert {"x-replay-source-partition", "x-replay-source-offset",
                "x-replay-at"} <= set(headers)
        assert sorted(r.value for r in records) == sorted(
            f"v{i}".encode() for _ in range(PARTITIONS) for i in range(PER_PARTITION))
    finally:
        await admin.delete_topics([into])
        await admin.close()
