"""``alerts``: something measured changed significantly, with its evidence. An alert's id is
derived from what it is about (kind, subject, metric, the runs or the event compared), so a
replay or a redelivery never raises it twice."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.base import Message

ALERT_NAMESPACE = uuid.UUID("0a7e2d51-5c1b-4b8e-8f3a-2e9d6c4b1a70")
AlertKind = Literal["brand_score", "visibility", "news_effect", "model_changed"]


def alert_id_for(kind: str, subject: str, provider: str, metric: str, about: str) -> UUID:
    """``about``: the runs compared (previous→current) or the news event."""
    return uuid.uuid5(ALERT_NAMESPACE, f"{kind}|{subject}|{provider}|{metric}|{about}")


class AlertRaised(Message):
    alert_id: UUID
    kind: AlertKind
    subject: str = Field(description="The brand's domain, or the project's name.")
    project: str | None = None
    brand: str | None = Field(default=None, description="The brand, in a project alert.")
    provider: str
    metric: str
    previous: float | None
    current: float | None
    difference: float | None
    p_value: float | None
    test: str
    previous_run_id: UUID | None = None
    run_id: UUID | None = None
    event_id: UUID | None = None
    summary: str = Field(description="One line a person reads first.")
    raised_at: datetime
