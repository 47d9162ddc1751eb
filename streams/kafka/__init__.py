"""Kafka, the one way: the FastStream broker and topic admin, consumed records decoded one by
one, dead letters, and reading what a topic holds."""

from __future__ import annotations

from streams.kafka.broker import batch_subscriber_options, create_broker, create_topics
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import (
    Envelope,
    UndecodableRecord,
    decode,
    decode_batch,
    record_headers,
)
from streams.kafka.topic_reader import read_records, true_end_offsets

__all__ = [
    "DeadLetters",
    "Envelope",
    "UndecodableRecord",
    "batch_subscriber_options",
    "create_broker",
    "create_topics",
    "decode",
    "decode_batch",
    "read_records",
    "record_headers",
    "true_end_offsets",
]
