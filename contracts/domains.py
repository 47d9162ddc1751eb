"""``domains.requested``: a producer asks for one domain to be measured in one run."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from contracts.base import Message


class DomainRequested(Message):
    run_id: UUID
    domain: str = Field(description="Normalised domain (IDNA, lower case); also the Kafka key.")
    name: str = Field(description="Display name of the brand; the domain when unknown.")
    aliases: tuple[str, ...] = ()
    prompt_set: str = "default"
    providers: tuple[str, ...]
    samples: int = Field(ge=1, le=100)
    run_size: int = Field(ge=1, description="Number of domains in the whole run.")
    cost_cap_usd: float | None = Field(
        default=None, ge=0,
        description="Most the run may spend (USD); calls beyond it are skipped. None: no cap.")
    requested_at: datetime
