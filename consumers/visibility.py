"""Consumer group ``visibility``: reads every answer of a project run for all the project's
tracked brands (mentioned, rank, sentiment) and the untracked names it ranks; when the run is
final and every answer is read, scores each brand in each scope, upserts the scores and publishes
``visibility.scores``.

Answers are read from the stored responses (capture's system of record) and scores from the
stored readings, so any order, duplicate or replay of responses gives the same numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from contracts import (
    DOMAINS_REQUESTED,
    RESPONSES_RAW,
    VISIBILITY_SCORES,
    DomainRequested,
    RawResponse,
    VisibilityScore,
)
from streams.kafka.dead_letters import DeadLetters
from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.durable import wait_stored
from streams.runtime.resources import Resources
from streams.runtime.tracing import batch_spans
from streams.validation.mentions import BrandNames
from streams.visibility.extraction import EXTRACTOR_VERSION, extract
from streams.visibility.metrics import next_round, score_project_run
from streams.visibility.store import (
    load_readings,
    neighbour_run,
    planned,
    planned_per_cell,
    project_runs,
    save_extractions,
    stored_responses,
    upsert_scores,
)

GROUP = "visibility"


def register(resources: Resources, *, group: str = GROUP) -> None:
    """``group`` is for replays into a fresh group; deployments use ``GROUP``."""
    broker, settings, pool = resources.broker, resources.settings, resources.pool
    dead_letters = DeadLetters(broker, group=group)

    async def score(run_id: UUID) -> tuple[list[VisibilityScore], DomainRequested | None]:
        """Score the run if ready, and the project's next ready run, whose changes are measured
        against this one (it may have finished first); with adaptive sampling, also the request
        for the run's next round, if a cell needs one."""
        computed_at = datetime.now(UTC)
        async with pool.acquire() as connection:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                run = await load_readings(connection, run_id, EXTRACTOR_VERSION)
                if run is None:
                    return [], None
                rounds = next_round(run, await planned_per_cell(connection, run_id))
                previous = await neighbour_run(
                    connection, run.project, run.run_created_at, run.run_id, earlier=True,
                    extractor_version=EXTRACTOR_VERSION)
                later = await neighbour_run(
                    connection, run.project, run.run_created_at, run.run_id, earlier=False,
                    extractor_version=EXTRACTOR_VERSION)
            scores = score_project_run(run, previous, computed_at=computed_at)
            if later is not None:
                scores += score_project_run(later, run, computed_at=computed_at)
            async with connection.transaction():
                await upsert_scores(connection, scores)
        if not rounds:
            return scores, None
        project = (await project_runs(pool, [run_id]))[run_id]
        own = project.brands[0]
        mode = await pool.fetchval("SELECT mode FROM runs WHERE run_id = $1", run_id)
        return scores, DomainRequested(
            run_id=run_id, domain=own.domain, name=own.name, aliases=own.aliases,
            providers=tuple(sorted({cell.provider for cell in rounds})), project=project,
            rounds=rounds, mode=mode)

    @consume_batches(resources, group=group, topics=(RESPONSES_RAW,), dead_letters=dead_letters)
    async def visibility(batch: Batch) -> Confirmations:
        envelopes = batch.of(RawResponse)
        projects = await project_runs(pool, {e.value.run_id for e in envelopes})
        ours = [e for e in envelopes if e.value.run_id in projects]
        if not ours:
            return []
        with batch_spans("visibility read", [e.headers for e in ours]):
            wanted = {e.value.call_id for e in ours}
            # A call that was never planned is capture's to dead-letter; here it is skipped.
            wanted &= await planned(pool, wanted)
            answers = await wait_stored(lambda ids: stored_responses(pool, ids), wanted,
                                        wait_s=settings.validation_wait_s,
                                        what="responses")
            read = []
            for answer in answers.values():
                project = projects[answer.run_id]
                if answer.status == "ok":
                    tracked = [BrandNames(b.domain, b.name, b.aliases) for b in project.brands]
                    read.append((answer, project, extract(answer.text, tracked)))
            await save_extractions(pool, read, extractor_version=EXTRACTOR_VERSION)
        confirmations: Confirmations = []
        for run_id in sorted({answer.run_id for answer in answers.values()}):
            found, more = await score(run_id)
            for brand_score in found:
                confirmations.append(await broker.publish(
                    brand_score, VISIBILITY_SCORES.name, key=brand_score.project.encode(),
                    correlation_id=f"{brand_score.run_id}:{brand_score.brand}",
                    no_confirm=True))
            if more is not None:
                # Planned by capture like any request; a duplicate plans nothing new.
                confirmations.append(await broker.publish(
                    more, DOMAINS_REQUESTED.name, key=more.domain.encode(),
                    correlation_id=f"{run_id}:rounds", no_confirm=True))
        return confirmations
