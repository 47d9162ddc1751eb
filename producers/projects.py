"""Publish a project run: one ``DomainRequested`` for the project's own brand, carrying the
project (its tracked brands and prompts), through the same topic and groups as domain runs.

A project asked in both modes is two twin runs, one per mode, so memory and retrieval numbers
are never averaged together; the memory run keeps the given id, the retrieval run's is derived
from it (a republished request names the same runs)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind

from contracts import DOMAINS_REQUESTED, DomainRequested, Mode, ProjectRequest
from streams.runtime.tracing import record_span

MODE_RUN_NAMESPACE = uuid.UUID("0d7e8f2a-3b4c-4d5e-8f60-718293a4b5c6")


def mode_run_ids(run_id: UUID, modes: Sequence[Mode]) -> dict[Mode, UUID]:
    """The run of each mode: ``run_id`` for the first, derived ids for the others."""
    ordered = list(dict.fromkeys(modes)) or ["memory"]
    return {mode: run_id if index == 0 else uuid.uuid5(MODE_RUN_NAMESPACE, f"{run_id}|{mode}")
            for index, mode in enumerate(ordered)}


async def publish_project_run(
    broker: KafkaBroker, project: ProjectRequest, *, run_id: UUID, providers: Sequence[str],
    samples: int, cost_cap_usd: float | None = None, modes: Sequence[Mode] = ("memory",),
) -> list[DomainRequested]:
    """One run per mode; ``providers`` empty: every provider the deployment has (for retrieval,
    every one that can search, the others recorded as refused with the reason)."""
    own = project.brands[0]
    runs = mode_run_ids(run_id, modes)
    messages = []
    for mode, mode_run in runs.items():
        twin = next((other for m, other in runs.items() if m != mode), None)
        message = DomainRequested(
            run_id=mode_run, domain=own.domain, name=own.name, aliases=own.aliases,
            prompt_set="project", providers=tuple(providers), samples=samples, run_size=1,
            cost_cap_usd=cost_cap_usd, requested_at=datetime.now(UTC), project=project,
            mode=mode, twin_run_id=twin,
        )
        with record_span("publish project run", {}, kind=SpanKind.PRODUCER,
                         domain=own.domain):
            await broker.publish(message, DOMAINS_REQUESTED.name, key=own.domain.encode(),
                                 correlation_id=f"{mode_run}:{own.domain}")
        messages.append(message)
    return messages
