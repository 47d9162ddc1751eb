"""``domains.requested``: a producer asks for one domain to be measured in one run.

The smallest valid request is ``{"domain": "example.com"}``: every other field has a default,
and a request without ``run_id`` is a run of its own whose id is derived from the record's
coordinates (topic, partition, offset), so a redelivered record is the same run. The domain is
normalised here, whoever produced the record (``http://WWW.Example.COM/x`` → ``example.com``),
or the record is refused with the reason."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from contracts.base import Message
from contracts.calls import Mode
from contracts.domain_name import Domain
from contracts.projects import CellSamples, ProjectRequest

# Generous for a brand's display name or alias, small enough that a bad record cannot bloat
# every prompt and row it is copied into.
MAX_NAME_CHARS = 200
MAX_ALIASES = 20


class DomainRequested(Message):
    run_id: UUID | None = Field(
        default=None,
        description="The run this domain belongs to. None: a run of its own, with an id "
                    "derived from the record (topic, partition, offset).")
    domain: Domain = Field(description="The brand's domain; normalised on read (IDNA, lower case, "
                                    "no scheme, path or www.). The record key should match it; "
                                    "when it does not, the domain here wins.")
    name: str = Field(default="", max_length=MAX_NAME_CHARS,
                      description="Display name of the brand; empty: the domain.")
    aliases: tuple[str, ...] = Field(default=(), max_length=MAX_ALIASES)
    prompt_set: str = "default"
    providers: tuple[str, ...] = Field(
        default=(), description="Providers to ask; empty: every provider the deployment has.")
    samples: int = Field(default=1, ge=1, le=100)
    run_size: int = Field(default=1, ge=1, description="Number of domains in the whole run.")
    cost_cap_usd: float | None = Field(
        default=None, ge=0,
        description="Most the run may spend (USD); calls beyond it are skipped. None: no cap.")
    mode: Mode = Field(
        default="memory",
        description="memory: the models answer with no tools; retrieval: with their provider's "
                    "own web search. Providers without one are refused for retrieval.")
    twin_run_id: UUID | None = Field(
        default=None,
        description="The run asking the same cells in the other mode, when both were asked "
                    "for: the memory-vs-retrieval comparison pairs the two.")
    requested_at: datetime | None = Field(
        default=None, description="When it was requested; None: the record's timestamp.")
    project: ProjectRequest | None = Field(
        default=None,
        description="A project run: its tracked prompts are asked instead of the prompt set, "
                    "and every answer is read for all its tracked brands. ``domain`` is the "
                    "project's own brand.")
    rounds: tuple[CellSamples, ...] = Field(
        default=(), max_length=10_000,
        description="Adaptive sampling: more samples for these cells of the project run "
                    "``run_id``, which is already planned.")

    @field_validator("aliases")
    @classmethod
    def _short_aliases(cls, aliases: tuple[str, ...]) -> tuple[str, ...]:
        for alias in aliases:
            if len(alias) > MAX_NAME_CHARS:
                raise ValueError(f"an alias of {len(alias)} characters (the limit is "
                                 f"{MAX_NAME_CHARS})")
        return aliases

    @model_validator(mode="after")
    def _own_brand(self) -> DomainRequested:
        if self.project is not None and self.project.brands[0].domain != self.domain:
            raise ValueError(f"a project run's domain is its own brand's "
                             f"({self.project.brands[0].domain}), not {self.domain}")
        if self.rounds and (self.project is None or self.run_id is None):
            raise ValueError("more rounds are for a project run: give its run_id and project")
        return self
