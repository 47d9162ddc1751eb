"""Operate on dead letters: count them, show them, send them back where they came from."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from contracts import TOPICS
from streams.kafka.records import record_headers
from streams.kafka.topic_reader import read_records

REDRIVE_HEADER = "dlt-redriven-from"


@dataclass(frozen=True)
class DeadLetter:
    record: ConsumerRecord[bytes, bytes]
    headers: dict[str, str]

    @property
    def original_topic(self) -> str:
        topic: str = self.record.topic
        return self.headers.get("dlt-original-topic", topic.removesuffix(".dlt"))

    @property
    def reason(self) -> str:
        return self.headers.get("dlt-exception-type", "unknown")

    @property
    def message(self) -> str:
        return self.headers.get("dlt-exception-message", "")

    @property
    def failed_at(self) -> datetime:
        return datetime.fromtimestamp(self.record.timestamp / 1000).astimezone()

    def matches(self, *, reason: str | None, since: datetime | None, until: datetime | None,
                group: str | None) -> bool:
        return (
            (reason is None or reason.lower() in f"{self.reason}: {self.message}".lower())
            and (since is None or self.failed_at >= since)
            and (until is None or self.failed_at < until)
            and (group is None or self.headers.get("dlt-consumer-group") == group)
        )


def dlt_topics(topic: str | None = None) -> list[str]:
    names = [t.dlt for t in TOPICS]
    if topic is None:
        return names
    wanted = topic if topic.endswith(".dlt") else topic + ".dlt"
    if wanted not in names:
        raise ValueError(f"no dead-letter topic for {topic!r}; known: {', '.join(names)}")
    return [wanted]


async def read_dead_letters(bootstrap: str, topic: str | None = None) -> list[DeadLetter]:
    return [
        DeadLetter(record, record_headers(record))
        async for record in read_records(bootstrap, dlt_topics(topic))
    ]


def count_by_reason(letters: Iterable[DeadLetter]) -> Counter[tuple[str, str, str]]:
    """(dead-letter topic, consumer group, reason) → count."""
    return Counter(
        (letter.record.topic, letter.headers.get("dlt-consumer-group", "?"), letter.reason)
        for letter in letters
    )


async def redrive(broker: KafkaBroker, letters: Iterable[DeadLetter]) -> int:
    """Publish each dead letter's unchanged value and key back to its original topic. Consumers
    are idempotent by business id, so a letter redriven twice changes nothing more."""
    pending: list[asyncio.Future[Any]] = []
    for letter in letters:
        headers = {k: v for k, v in letter.headers.items() if not k.startswith("dlt-")}
        headers[REDRIVE_HEADER] = (
            f"{letter.record.topic}:{letter.record.partition}:{letter.record.offset}"
        )
        pending.append(
            await broker.publish(letter.record.value or b"", letter.original_topic,
                                 key=letter.record.key, headers=headers, no_confirm=True)
        )
    await asyncio.gather(*pending)
    return len(pending)
