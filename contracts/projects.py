"""A project run's definition, carried in its ``domains.requested`` record: the tracked brands
(the project's own first, then its competitors) and the tracked prompts as sent to the models.

The record holds everything the run needs, so planning, extraction and a replay read the
project as it was when the run was requested, whatever has been applied since."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.domain_name import Domain

MAX_BRANDS = 51
MAX_PROMPTS = 200
MAX_PROMPT_CHARS = 2_000


class ProjectBrand(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    domain: Domain
    name: str = Field(min_length=1, max_length=200)
    aliases: tuple[str, ...] = Field(default=(), max_length=20)


class ProjectPrompt(BaseModel):
    """One tracked prompt in one version; ``text`` is what the models are sent."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    text: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    topic: str = Field(default="general", min_length=1, max_length=64)


class Precision(BaseModel):
    """Adaptive sampling: a cell (prompt × provider) is sampled in rounds of ``round_samples``
    until every tracked brand's visibility interval is at most ± ``visibility_half_width``, or
    the cell has ``max_samples``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    visibility_half_width: float = Field(gt=0, le=0.5)
    max_samples: int = Field(ge=2, le=1_000)
    round_samples: int = Field(default=5, ge=1, le=100)


class CellSamples(BaseModel):
    """One more round for a cell of a project run: its samples ``0 … samples − 1`` in all."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    provider: str = Field(min_length=1, max_length=64)
    prompt_id: str = Field(min_length=1, max_length=64)
    samples: int = Field(ge=1, le=1_000)


class ProjectRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    brands: tuple[ProjectBrand, ...] = Field(
        min_length=1, max_length=MAX_BRANDS,
        description="The tracked brands: the project's own first, then its competitors.")
    prompts: tuple[ProjectPrompt, ...] = Field(min_length=1, max_length=MAX_PROMPTS)
    precision: Precision | None = Field(
        default=None, description="Adaptive sampling; None: a fixed k samples per cell.")

    @field_validator("brands")
    @classmethod
    def _distinct_brands(cls, brands: tuple[ProjectBrand, ...]) -> tuple[ProjectBrand, ...]:
        domains = [brand.domain for brand in brands]
        if len(set(domains)) != len(domains):
            raise ValueError("a domain is tracked twice")
        return brands

    @field_validator("prompts")
    @classmethod
    def _distinct_prompts(cls, prompts: tuple[ProjectPrompt, ...]) -> tuple[ProjectPrompt, ...]:
        ids = [prompt.id for prompt in prompts]
        if len(set(ids)) != len(ids):
            raise ValueError("a prompt id appears twice")
        return prompts
