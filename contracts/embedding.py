"""``responses.embedded``: one answer's embedding is stored, and how far it moved since last run."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from contracts.base import Message


class ResponseEmbedded(Message):
    call_id: UUID
    run_id: UUID
    domain: str
    provider: str
    model_version: str | None
    prompt_id: str
    sample: int
    embedding_model: str
    dimensions: int
    drift: float | None = Field(
        default=None, description="Cosine distance to the previous run's answer for the same "
        "domain × provider × prompt × sample; None when there is none.")
    previous_run_id: UUID | None = None
    embedder_version: str
    embedded_at: datetime
