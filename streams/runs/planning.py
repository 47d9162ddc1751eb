"""Turn one domain request into its calls: domain × provider × prompt × sample."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord

from contracts import (
    CellSamples,
    DomainRequested,
    Mode,
    ProjectRequest,
    ProviderCallRequested,
    call_id_for,
)
from streams.errors import DomainRunnerError
from streams.providers.catalog import search_refusal
from streams.providers.types import ProviderConfig
from streams.runs.prompts import PROMPT_SETS

# Runs of one domain requested without a run id: uuid5(this, "topic:partition:offset").
OWN_RUN_NAMESPACE = uuid.UUID("5b0c7a52-8f0e-4c3f-9a51-6f1d2f1e7a10")


class PlanningError(DomainRunnerError, ValueError):
    """The request names something this deployment does not have."""


@dataclass(frozen=True)
class PlannedDomain:
    """A domain request with every default filled in: what capture plans and stores."""

    run_id: uuid.UUID
    domain: str
    name: str
    aliases: tuple[str, ...]
    prompt_set: str
    providers: tuple[str, ...]
    samples: int
    run_size: int
    cost_cap_usd: float | None
    requested_at: datetime
    project: ProjectRequest | None = None
    rounds: tuple[CellSamples, ...] = ()
    mode: Mode = "memory"
    twin_run_id: uuid.UUID | None = None
    # Providers a retrieval run asked for by default that cannot search: provider -> reason.
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def prompt_label(self) -> str:
        """What ``runs.prompt_set`` records: the prompt set, or the project."""
        return f"project:{self.project.name}" if self.project else self.prompt_set


def resolve_request(request: DomainRequested, record: ConsumerRecord[bytes, bytes],
                    default_providers: Sequence[str]) -> PlannedDomain:
    """The request's defaults, from the record that carried it and this deployment.

    A retrieval run asks only providers that can search: by default the deployment's providers
    that can (the others are recorded as refused, with the reason); named explicitly, a provider
    that cannot is an error (``plan_calls``), never answered from memory instead."""
    run_id = request.run_id or uuid.uuid5(
        OWN_RUN_NAMESPACE, f"{record.topic}:{record.partition}:{record.offset}")
    chosen, refused = tuple(request.providers or default_providers), {}
    if request.mode == "retrieval" and not request.providers:
        refused = {name: search_refusal(name) for name in chosen if search_refusal(name)}
        chosen = tuple(name for name in chosen if name not in refused)
    return PlannedDomain(
        run_id=run_id, domain=request.domain, name=request.name.strip() or request.domain,
        aliases=request.aliases, prompt_set=request.prompt_set,
        providers=chosen, samples=request.samples,
        run_size=request.run_size if request.run_id else 1, cost_cap_usd=request.cost_cap_usd,
        requested_at=request.requested_at or datetime.fromtimestamp(record.timestamp / 1000, UTC),
        project=request.project,
        rounds=request.rounds,
        mode=request.mode,
        twin_run_id=request.twin_run_id,
        refused=refused,
    )


@dataclass(frozen=True)
class _Rendered:
    id: str
    version: int
    text: str


def _prompts(request: PlannedDomain) -> list[_Rendered]:
    """A project's tracked prompts as they are, or the prompt set rendered for the domain."""
    if request.project is not None:
        return [_Rendered(p.id, p.version, p.text) for p in request.project.prompts]
    prompts = PROMPT_SETS.get(request.prompt_set)
    if prompts is None:
        raise PlanningError(f"unknown prompt set {request.prompt_set!r}")
    return [_Rendered(p.id, p.version, p.render(domain=request.domain, name=request.name))
            for p in prompts]


def plan_calls(
    request: PlannedDomain, providers: dict[str, ProviderConfig]
) -> list[ProviderCallRequested]:
    prompts = _prompts(request)
    unknown = [name for name in request.providers if name not in providers]
    if unknown:
        raise PlanningError(f"providers not configured here: {', '.join(unknown)}")
    if request.mode == "retrieval":
        blind = [f"{name} ({search_refusal(name)})" for name in request.providers
                 if search_refusal(name)]
        if blind:
            raise PlanningError(f"retrieval asked of providers without web search: "
                                f"{'; '.join(blind)}")
        if not request.providers:
            raise PlanningError("retrieval asked, and no provider here can search the web")
    # A round asks each of its cells for its samples 0 … n − 1 (ids are deterministic: the
    # samples asked before are the same calls, and stored once).
    cells = {(c.provider, c.prompt_id): c.samples for c in request.rounds} or {
        (provider, prompt.id): request.samples
        for provider in request.providers for prompt in prompts}
    known = {prompt.id for prompt in prompts}
    if strays := sorted(f"{p}/{q}" for p, q in cells if p not in providers or q not in known):
        raise PlanningError(f"rounds for cells this run does not have: {', '.join(strays)}")
    calls = []
    for provider_name in dict.fromkeys(p for p, _ in cells):
        model = providers[provider_name].model
        for prompt in prompts:
            for sample in range(cells.get((provider_name, prompt.id), 0)):
                calls.append(
                    ProviderCallRequested(
                        call_id=call_id_for(
                            run_id=request.run_id, domain=request.domain, provider=provider_name,
                            model=model, prompt_id=prompt.id, sample=sample, mode=request.mode,
                        ),
                        run_id=request.run_id,
                        domain=request.domain,
                        name=request.name,
                        provider=provider_name,
                        model=model,
                        prompt_id=prompt.id,
                        prompt_version=prompt.version,
                        prompt=prompt.text,
                        sample=sample,
                        mode=request.mode,
                    )
                )
    return calls
