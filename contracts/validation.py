"""``responses.validated``: what one raw answer says about its brand, checked against reality."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Message

Fact = Literal["founded", "headquarters_country", "industry", "founders", "products"]


class FactCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fact: Fact
    claimed: str | None
    expected: str | None
    correct: bool | None = Field(description="None when the answer or the reference lacks it.")


class ResponseValidated(Message):
    call_id: UUID
    run_id: UUID
    domain: str
    provider: str
    model: str
    model_version: str | None
    prompt_id: str
    sample: int
    mentioned: bool = Field(description="The answer names the brand (name, alias or domain).")
    declined: bool = Field(description="The answer says it knows nothing about the brand.")
    position: int | None = Field(default=None, description="1-based rank when the answer lists.")
    sentiment: float | None = Field(default=None, ge=-1, le=1)
    fact_checks: tuple[FactCheck, ...] = ()
    validator_version: str
    validated_at: datetime

    @property
    def facts_checked(self) -> int:
        return sum(1 for check in self.fact_checks if check.correct is not None)

    @property
    def facts_correct(self) -> int:
        return sum(1 for check in self.fact_checks if check.correct)
