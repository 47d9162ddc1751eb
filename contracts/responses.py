"""``responses.raw``: what a provider answered to one call, or why it did not."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.base import Message
from contracts.calls import Mode

# ``skipped``: never sent, because the run's cost cap was reached (error_type BudgetExhausted).
CallStatus = Literal["ok", "failed", "skipped"]


class RawResponse(Message):
    call_id: UUID
    run_id: UUID
    domain: str
    provider: str
    model: str
    prompt_id: str
    prompt_version: int
    sample: int
    status: CallStatus
    mode: Mode = "memory"
    text: str | None = None
    model_version: str | None = None
    finish_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float | None = None
    attempts: int = 1
    error_type: str | None = None
    error: str | None = None
    key_fingerprint: str | None = None
    trace_id: str | None = None
    responded_at: datetime
    web_searches: int = Field(default=0, ge=0, description="Searches the provider billed.")
    # The provider's body as received and the shape it has (``streams.providers.citations.Api``
    # or a wire name): provider-calls keeps it in PostgreSQL with the call; it never travels on
    # the topic (``exclude``), where downstream readers want the extracted fields.
    raw_body: bytes | None = Field(default=None, exclude=True, repr=False)
    body_api: str | None = Field(default=None, exclude=True, repr=False)
