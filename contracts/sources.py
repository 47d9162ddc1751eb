"""``citations.found``: the sources one retrieval answer cited or only retrieved, and the searches
its engine ran, as one extractor version read them from the stored provider body."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Message

# own: the project's own brand's site; competitor: a tracked competitor's; else the class of a
# third-party domain (``streams/sources/source_classes.csv``), "other" when unlisted.
SourceClass = str


class CitedSource(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    ordinal: int = Field(ge=1, description="Order of first appearance in the answer.")
    url: str = Field(description="As the provider gave it.")
    canonical_url: str
    domain: str
    title: str | None = None
    cited: bool = Field(description="Cited by the answer (else only retrieved by its search).")
    spans: tuple[tuple[int, int], ...] = Field(
        default=(), description="Code-point [start, end) of each answer span it supports; "
                                "empty where the provider gives no position.")
    source_class: SourceClass
    brand: str | None = Field(default=None, description="The tracked brand whose site it is.")


class CitationsFound(Message):
    call_id: UUID
    run_id: UUID
    domain: str
    project: str | None = None
    provider: str
    model: str
    prompt_id: str
    sample: int
    extractor_version: int
    sources: tuple[CitedSource, ...]
    search_queries: tuple[str, ...] = ()
    web_searches: int = 0
    extracted_at: datetime
