"""Replay: move a consumer group's offsets (like ``kafka-consumer-groups --reset-offsets``), or
copy a time range of a topic into another topic with ``x-replay-*`` headers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from faststream.kafka import KafkaBroker

from streams.errors import DomainRunnerError
from streams.kafka.topic_reader import read_records, true_end_offsets


class ReplayRefused(DomainRunnerError, RuntimeError):
    """The reset would be unsafe or cannot be done as asked."""


@dataclass(frozen=True)
class OffsetMove:
    partition: TopicPartition
    current: int | None
    target: int
    end: int


async def live_members(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    members = 0
    for response in described:
        for entry in response.groups:
            if entry[1] == group and entry[2] not in ("Empty", "Dead", ""):
                members += len(entry[5])
    return members


async def _offsets_for_time(
    bootstrap: str, partitions: list[TopicPartition], when: datetime,
    ends: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """First offset at or after ``when``; the end when there is none. Tansu answers 0 for a time
    after the last record, so each answer is checked against the record it points at."""
    when_ms = int(when.timestamp() * 1000)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        found = await consumer.offsets_for_times({tp: when_ms for tp in partitions})
        targets: dict[TopicPartition, int] = {}
        for tp in partitions:
            answer = found.get(tp)
            if answer is None or answer.offset >= ends[tp]:
                targets[tp] = ends[tp]
                continue
            consumer.assign([tp])
            consumer.seek(tp, answer.offset)
            record = await asyncio.wait_for(consumer.getone(tp), timeout=10)
            targets[tp] = answer.offset if record.timestamp >= when_ms else ends[tp]
        return targets
    finally:
        await consumer.stop()


async def plan_reset(
    bootstrap: str, group: str, topic: str, *, to_offset: int | None = None,
    to_datetime: datetime | None = None, shift_by: int | None = None, to_earliest: bool = False,
    to_latest: bool = False,
) -> list[OffsetMove]:
    """Where each partition's committed offset would move; targets are clamped to [0, true end]."""
    if sum(x is not None and x is not False for x in
           (to_offset, to_datetime, shift_by, to_earliest or None, to_latest or None)) != 1:
        raise ReplayRefused("name exactly one of: offset, datetime, shift, earliest, latest")
    ends = await true_end_offsets(bootstrap, [topic])
    partitions = sorted(ends)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
    finally:
        await admin.close()
    current = {tp: (committed[tp].offset if tp in committed and committed[tp].offset >= 0
                    else None) for tp in partitions}
    if to_datetime is not None:
        targets = await _offsets_for_time(bootstrap, partitions, to_datetime, ends)
    elif shift_by is not None:
        targets = {tp: (current[tp] or 0) + shift_by for tp in partitions}
    elif to_offset is not None:
        targets = dict.fromkeys(partitions, to_offset)
    elif to_earliest:
        targets = dict.fromkeys(partitions, 0)
    else:
        targets = dict(ends)
    return [OffsetMove(tp, current[tp], min(max(targets[tp], 0), ends[tp]), ends[tp])
            for tp in partitions]


async def execute_reset(
    bootstrap: str, group: str, moves: list[OffsetMove], *, live_processes: int,
    trust_broker_membership: bool,
) -> None:
    """Commit the new offsets; refused while the group has live members: its processes still
    beat (``live_processes``), or, where the broker reports membership reliably (Apache Kafka,
    not Tansu), the broker lists members."""
    members = live_processes
    if trust_broker_membership:
        members = max(members, await live_members(bootstrap, group))
    if members:
        raise ReplayRefused(
            f"group {group!r} has {members} live member(s); stop its consumers first")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([move.partition for move in moves])
        await consumer.commit({move.partition: move.target for move in moves})
    finally:
        await consumer.stop()


async def copy_range(
    bootstrap: str, broker: KafkaBroker, source: str, into: str, *,
    since: datetime | None = None, until: datetime | None = None,
) -> int:
    """Re-publish ``source`` records with timestamps in [since, until) into ``into``, unchanged
    but for ``x-replay-*`` headers that say where each came from."""
    since_ms = int(since.timestamp() * 1000) if since else None
    until_ms = int(until.timestamp() * 1000) if until else None
    replayed_at = datetime.now().astimezone().isoformat()
    pending: list[asyncio.Future[Any]] = []
    async for record in read_records(bootstrap, [source]):
        if (since_ms is not None and record.timestamp < since_ms) or (
                until_ms is not None and record.timestamp >= until_ms):
            continue
        headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
        headers.update({
            "x-replay-source-topic": record.topic,
            "x-replay-source-partition": str(record.partition),
            "x-replay-source-offset": str(record.offset),
            "x-replay-source-timestamp": str(record.timestamp),
            "x-replay-at": replayed_at,
        })
        pending.append(await broker.publish(record.value or b"", into, key=record.key,
                                            headers=headers, no_confirm=True))
    await asyncio.gather(*pending)
    return len(pending)
