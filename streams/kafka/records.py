"""Consumed Kafka records: decode each one on its own so one bad record never sinks a batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from contracts import Message
from streams.errors import DomainRunnerError

M = TypeVar("M", bound=Message)

MAX_RECORD_BYTES = 256_000


class UndecodableRecord(DomainRunnerError, ValueError):
    """The record's value is not a valid message of its topic's contract."""


@dataclass(frozen=True)
class Envelope(Generic[M]):
    record: ConsumerRecord[bytes, bytes]
    value: M

    @property
    def headers(self) -> dict[str, str]:
        return record_headers(self.record)

    @property
    def key(self) -> bytes | None:
        key: bytes | None = self.record.key
        return key


@dataclass
class DecodedBatch(Generic[M]):
    valid: list[Envelope[M]] = field(default_factory=list)
    invalid: list[tuple[ConsumerRecord[bytes, bytes], UndecodableRecord]] = field(
        default_factory=list
    )


def record_headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {key: value.decode(errors="replace") for key, value in record.headers or ()}


def decode(record: ConsumerRecord[bytes, bytes], model: type[M]) -> M:
    value = record.value
    if value is None:
        raise UndecodableRecord("empty value (tombstone)")
    if len(value) > MAX_RECORD_BYTES:
        raise UndecodableRecord(f"value of {len(value)} bytes exceeds {MAX_RECORD_BYTES}")
    try:
        return model.from_json(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "value"
        kind = "not JSON" if first["type"] == "json_invalid" else "schema violation"
        raise UndecodableRecord(
            f"{kind} for {model.__name__}: {where}: {first['msg']} ({exc.error_count()} errors)"
        ) from None


def decode_batch(
    records: tuple[ConsumerRecord[bytes, bytes], ...], model: type[M]
) -> DecodedBatch[M]:
    batch: DecodedBatch[M] = DecodedBatch()
    for record in records:
        try:
            batch.valid.append(Envelope(record, decode(record, model)))
        except UndecodableRecord as exc:
            batch.invalid.append((record, exc))
    return batch
