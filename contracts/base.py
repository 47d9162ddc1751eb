"""The base every message shares: JSON on the wire, a schema version, tolerant reading.

Compatibility rule (forward compatible, as schema registries define it): a reader ignores fields
it does not know, so a newer producer may add optional fields without breaking older consumers;
a change that would break a reader bumps ``SCHEMA_VERSION``, and a reader refuses (to the
dead-letter topic, with the reason) a version newer than its own. Writers write only the fields
their model declares."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, field_validator


class Message(BaseModel):
    """A Kafka message value. ``SCHEMA_VERSION`` bumps on any incompatible change."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    SCHEMA_VERSION: ClassVar[int] = 1
    schema_version: int = 1

    @field_validator("schema_version")
    @classmethod
    def _understood(cls, version: int) -> int:
        if version > cls.SCHEMA_VERSION:
            raise ValueError(f"schema_version {version} is newer than this reader understands "
                             f"({cls.SCHEMA_VERSION}); upgrade the consumer to read it")
        if version < 1:
            raise ValueError(f"schema_version {version} does not exist (versions start at 1)")
        return version

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)
