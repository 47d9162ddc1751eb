"""Consumer group ``scoring``: when a domain's answers in a run are all validated and embedded,
recomputes its scores from PostgreSQL, upserts them and publishes ``brand.scores``.

Validated and embedded events only say which (run, domain) to look at; the numbers come from the
stored rows, so any order, duplicate or replay of events gives the same scores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from contracts import (
    BRAND_SCORES,
    RESPONSES_EMBEDDED,
    RESPONSES_VALIDATED,
    BrandScore,
    ResponseEmbedded,
    ResponseValidated,
)
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import Envelope
from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.resources import Resources
from streams.runtime.tracing import record_span
from streams.scoring.score import score_domain
from streams.scoring.store import load_domain_run, neighbour_complete_run, upsert_scores

GROUP = "scoring"


def register(resources: Resources, *, group: str = GROUP) -> None:
    """``group`` is for replays into a fresh group; deployments use ``GROUP``."""
    broker, pool = resources.broker, resources.pool
    dead_letters = DeadLetters(broker, group=group)

    async def score(run_id: UUID, domain: str) -> list[BrandScore]:
        """Score (run, domain) if complete, and the next complete run of the domain, whose drift
        and change flags are measured against this one (it may have finished first)."""
        computed_at = datetime.now(UTC)
        async with pool.acquire() as connection:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                run = await load_domain_run(connection, run_id, domain)
                if run is None:
                    return []
                later = await neighbour_complete_run(connection, domain, run.run_created_at,
                                                     earlier=False)
                next_run = await load_domain_run(connection, later, domain) if later else None
            scores = [s for r in (run, next_run) if r is not None
                      for s in score_domain(r, computed_at=computed_at)]
            async with connection.transaction():
                await upsert_scores(connection, scores)
        return scores

    @consume_batches(resources, group=group, topics=(RESPONSES_VALIDATED, RESPONSES_EMBEDDED),
                     dead_letters=dead_letters)
    async def scoring(batch: Batch) -> Confirmations:
        touched: dict[tuple[UUID, str], Envelope[Any]] = {}
        envelopes: list[Envelope[Any]] = [*batch.of(ResponseValidated),
                                          *batch.of(ResponseEmbedded)]
        for envelope in envelopes:
            touched.setdefault((envelope.value.run_id, envelope.value.domain), envelope)
        confirmations: Confirmations = []
        for (run_id, domain), envelope in sorted(touched.items(), key=lambda item: item[0]):
            with record_span("scoring score", envelope.headers, domain=domain):
                for brand_score in await score(run_id, domain):
                    confirmations.append(await broker.publish(
                        brand_score, BRAND_SCORES.name, key=brand_score.domain.encode(),
                        correlation_id=f"{brand_score.run_id}:{brand_score.domain}",
                        no_confirm=True))
        return confirmations
