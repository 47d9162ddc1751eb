"""``news.events``: one news item about one brand, identified by its URL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.base import Message

NEWS_NAMESPACE = uuid.UUID("9a4c3f1e-6b2d-4e8a-8f3c-2d1b0e7a6c55")

NewsKind = Literal[
    "leadership", "rebrand", "scandal", "regulatory", "security", "financial", "product", "other"
]
NEWS_KINDS: tuple[NewsKind, ...] = (
    "leadership", "rebrand", "scandal", "regulatory", "security", "financial", "product", "other"
)


def news_event_id(url: str) -> UUID:
    """Deterministic, so the same story ingested twice (or from two feeds) is one event."""
    return uuid.uuid5(NEWS_NAMESPACE, url.strip())


class NewsEvent(Message):
    event_id: UUID = Field(description="UUIDv5 of the URL.")
    domain: str = Field(description="Normalised domain of the brand; also the Kafka key.")
    headline: str
    url: str
    source: str | None = None
    published_at: datetime
    kind: NewsKind
    summary: str | None = None
    ingested_at: datetime
