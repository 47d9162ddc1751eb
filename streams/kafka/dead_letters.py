"""Dead letters: the unchanged record on ``<topic>.dlt`` with headers that say where it came from
and why it failed (names after Spring Kafka's and Kafka Connect's conventions)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from contracts.topics import DLT_SUFFIX
from streams.kafka.records import record_headers

logger = logging.getLogger(__name__)

MAX_REASON_CHARS = 1000


class DeadLetters:
    """Sends records a consumer group cannot process to their topic's dead-letter twin."""

    def __init__(self, broker: KafkaBroker, *, group: str) -> None:
        self._broker = broker
        self._group = group

    async def send(
        self,
        record: ConsumerRecord[bytes, bytes],
        *,
        stage: str,
        error: BaseException,
        attempts: int = 1,
    ) -> asyncio.Future[Any]:
        """Publish without waiting; the caller confirms the future before it commits."""
        headers = record_headers(record)
        headers.update(
            {
                "dlt-original-topic": record.topic,
                "dlt-original-partition": str(record.partition),
                "dlt-original-offset": str(record.offset),
                "dlt-original-timestamp": str(record.timestamp),
                "dlt-consumer-group": self._group,
                "dlt-exception-type": type(error).__name__,
                "dlt-exception-message": str(error)[:MAX_REASON_CHARS],
                "dlt-stage": stage,
                "dlt-attempts": str(attempts),
            }
        )
        logger.warning(
            "dead letter from %s[%d]@%d (%s): %s: %s", record.topic, record.partition,
            record.offset, stage, type(error).__name__, str(error)[:200],
        )
        future: asyncio.Future[Any] = await self._broker.publish(
            record.value or b"",
            record.topic + DLT_SUFFIX,
            key=record.key,
            headers=headers,
            no_confirm=True,
        )
        return future
