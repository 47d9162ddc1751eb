"""``provider.calls``: one planned call of one provider for one (domain, prompt, sample)."""

from __future__ import annotations

import uuid
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.base import Message

CALL_NAMESPACE = uuid.UUID("5b0f0f5e-4d8c-4a55-9d7c-0d6f3e1b2a90")

# ``memory``: the model answers with no tools. ``retrieval``: with the provider's own web search.
Mode = Literal["memory", "retrieval"]
MODES: tuple[Mode, ...] = ("memory", "retrieval")


def call_id_for(
    *, run_id: UUID, domain: str, provider: str, model: str, prompt_id: str, sample: int,
    mode: Mode = "memory",
) -> UUID:
    """Deterministic, so a replayed or duplicated plan names the same call. A memory call keeps
    the identity it had before modes existed, so older runs replay to the same ids."""
    suffix = "" if mode == "memory" else f"|{mode}"
    return uuid.uuid5(CALL_NAMESPACE,
                      f"{run_id}|{domain}|{provider}|{model}|{prompt_id}|{sample}{suffix}")


class ProviderCallRequested(Message):
    call_id: UUID
    run_id: UUID
    domain: str
    name: str
    provider: str
    model: str
    prompt_id: str
    prompt_version: int
    prompt: str
    sample: int = Field(ge=0)
    mode: Mode = "memory"
