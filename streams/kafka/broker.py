"""The one place Kafka clients are made: the FastStream broker, subscriber defaults, topic admin."""

from __future__ import annotations

import logging
from typing import Literal, TypedDict

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider

from contracts import TOPICS
from streams.config import Settings

logger = logging.getLogger(__name__)


def create_broker(settings: Settings, *, tracer_provider: TracerProvider | None = None,
                  log_level: int = logging.WARNING) -> KafkaBroker:
    """acks=all; the idempotent producer only where the broker supports it (not Tansu)."""
    return KafkaBroker(
        settings.kafka.bootstrap,
        acks="all",
        enable_idempotence=settings.kafka.enable_idempotence,
        linger_ms=5,
        # Short enough that stopping clients of a dead broker does not hang on the default 40 s.
        request_timeout_ms=10_000,
        client_id="domain-runner",
        middlewares=[KafkaTelemetryMiddleware(tracer_provider=tracer_provider)],
        log_level=log_level,
    )


class BatchSubscriberOptions(TypedDict):
    group_id: str
    batch: Literal[True]
    max_records: int
    batch_timeout_ms: int
    auto_offset_reset: Literal["earliest"]
    ack_policy: AckPolicy
    fetch_max_wait_ms: int
    session_timeout_ms: int
    heartbeat_interval_ms: int
    max_poll_interval_ms: int


def batch_subscriber_options(settings: Settings, *, group: str) -> BatchSubscriberOptions:
    """At-least-once batches: the offset is committed only after the handler returns, and a
    raised error seeks back so the batch is redelivered. Never FastStream's ACK_FIRST default."""
    return {
        "group_id": group,
        "batch": True,
        "max_records": settings.kafka.max_batch,
        "batch_timeout_ms": settings.kafka.fetch_max_wait_ms,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "fetch_max_wait_ms": settings.kafka.fetch_max_wait_ms,
        "session_timeout_ms": settings.kafka.session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka.heartbeat_interval_ms,
        "max_poll_interval_ms": 600_000,
    }


async def create_topics(settings: Settings, *, replication_factor: int = 1) -> list[str]:
    """Create every registered topic and its dead-letter twin with its final partition count."""
    wanted = [
        NewTopic(name, topic.partitions, replication_factor)
        for topic in TOPICS
        for name in (topic.name, topic.dlt)
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in wanted if topic.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                logger.info("another process created the topics first")
        return [topic.name for topic in missing]
    finally:
        await admin.close()
