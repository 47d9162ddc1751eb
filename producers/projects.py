"""Publish a project run: one ``DomainRequested`` for the project's own brand, carrying the
project (its tracked brands and prompts), through the same topic and groups as domain runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind

from contracts import DOMAINS_REQUESTED, DomainRequested, ProjectRequest
from streams.runtime.tracing import record_span


async def publish_project_run(
    broker: KafkaBroker, project: ProjectRequest, *, run_id: UUID, providers: Sequence[str],
    samples: int, cost_cap_usd: float | None = None,
) -> DomainRequested:
    own = project.brands[0]
    message = DomainRequested(
        run_id=run_id, domain=own.domain, name=own.name, aliases=own.aliases,
        prompt_set="project", providers=tuple(providers), samples=samples, run_size=1,
        cost_cap_usd=cost_cap_usd, requested_at=datetime.now(UTC), project=project,
    )
    with record_span("publish project run", {}, kind=SpanKind.PRODUCER, domain=own.domain):
        await broker.publish(message, DOMAINS_REQUESTED.name, key=own.domain.encode(),
                             correlation_id=f"{run_id}:{own.domain}")
    return message
