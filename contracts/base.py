"""The base every message shares: JSON on the wire, a schema version, strict fields."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    """A Kafka message value. ``SCHEMA_VERSION`` bumps on any incompatible change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    SCHEMA_VERSION: ClassVar[int] = 1
    schema_version: int = 1

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)
