"""What scoring reads from PostgreSQL (validations, embeddings, runs) and the ``brand_scores``
table it writes, keyed (run_id, domain, provider, scoring_version)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TypeAlias
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from contracts import BrandScore, Metric
from streams.scoring.consensus import EmbeddingRow
from streams.scoring.samples import ValidationRow
from streams.scoring.score import SCORING_VERSION, DomainRun

# A call is final once stored (ok/failed), skipped or dead-lettered; 'pending', 'retrying' and
# 'answered' (paid, not yet stored) are still on their way and would score on fewer samples.
_STATUS = """
SELECT count(*) FILTER (WHERE c.status NOT IN ('ok', 'failed', 'skipped', 'dead_letter'))
           AS unfinished,
       count(r.call_id) FILTER (WHERE r.status = 'ok') AS answered,
       count(v.call_id) FILTER (WHERE r.status = 'ok') AS validated,
       count(e.call_id) FILTER (WHERE r.status = 'ok') AS embedded
FROM calls c
LEFT JOIN responses r ON r.call_id = c.call_id
LEFT JOIN validations v ON v.call_id = c.call_id
LEFT JOIN embeddings e ON e.call_id = c.call_id
WHERE c.run_id = $1 AND c.domain = $2
"""

_VALIDATIONS = """
SELECT v.provider, v.model_version, v.prompt_id, v.sample, v.mentioned, v.declined, v.position,
       v.sentiment, v.facts_checked, v.facts_correct, v.fact_checks::text AS fact_checks,
       v.validator_version
FROM validations v JOIN responses r ON r.call_id = v.call_id
WHERE r.run_id = $1 AND r.domain = $2 AND r.status = 'ok'
ORDER BY v.provider, v.sample, v.prompt_id
"""

_EMBEDDINGS = """
SELECT e.provider, e.prompt_id, e.sample, e.vector, e.embedding_model, e.embedder_version
FROM embeddings e JOIN responses r ON r.call_id = e.call_id
WHERE r.run_id = $1 AND r.domain = $2 AND r.status = 'ok'
ORDER BY e.provider, e.prompt_id, e.sample
"""

# Runs that planned the domain, nearest first, before or after the given time. The brand score
# is a memory-mode measure: retrieval runs are read for their sources (streams/sources/).
_EARLIER = """
SELECT rd.run_id FROM run_domains rd JOIN runs r ON r.run_id = rd.run_id
WHERE rd.domain = $1 AND r.created_at < $2 AND r.project IS NULL AND r.mode = 'memory'
ORDER BY r.created_at DESC, rd.run_id LIMIT $3
"""
_LATER = """
SELECT rd.run_id FROM run_domains rd JOIN runs r ON r.run_id = rd.run_id
WHERE rd.domain = $1 AND r.created_at > $2 AND r.project IS NULL AND r.mode = 'memory'
ORDER BY r.created_at, rd.run_id LIMIT $3
"""
# A run whose earlier neighbours are all unfinished falls back no further than this.
LOOK_BACK_RUNS = 5

_UPSERT = """
INSERT INTO brand_scores (run_id, domain, provider, scoring_version, run_created_at, samples,
                          responses, model_versions, versions, metrics, previous_run_id,
                          changes, computed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12::jsonb, $13)
ON CONFLICT (run_id, domain, provider, scoring_version) DO UPDATE SET
    run_created_at = EXCLUDED.run_created_at, samples = EXCLUDED.samples,
    responses = EXCLUDED.responses, model_versions = EXCLUDED.model_versions,
    versions = EXCLUDED.versions, metrics = EXCLUDED.metrics,
    previous_run_id = EXCLUDED.previous_run_id, changes = EXCLUDED.changes,
    computed_at = EXCLUDED.computed_at
"""

# A connection, bare or from the pool.
Db: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

METRICS = ("mention_rate", "position", "sentiment", "accuracy", "consensus", "drift", "composite")


async def is_complete(connection: Db, run_id: UUID, domain: str) -> bool:
    """Every call of the domain final, and every answer validated and embedded."""
    row = await connection.fetchrow(_STATUS, run_id, domain)
    return bool(row and row["unfinished"] == 0 and row["answered"] > 0
                and row["validated"] == row["answered"] == row["embedded"])


async def run_created_at(connection: Db, run_id: UUID) -> datetime | None:
    created: datetime | None = await connection.fetchval(
        # A project run asks category prompts, not about the brand: it is not scored here; nor
        # is a retrieval run.
        """SELECT created_at FROM runs
           WHERE run_id = $1 AND project IS NULL AND mode = 'memory'""", run_id)
    return created


async def _validations(connection: Db, run_id: UUID,
                       domain: str) -> list[ValidationRow]:
    return [
        ValidationRow(
            provider=row["provider"], model_version=row["model_version"],
            prompt_id=row["prompt_id"], sample=row["sample"], mentioned=row["mentioned"],
            declined=row["declined"], position=row["position"], sentiment=row["sentiment"],
            facts_checked=row["facts_checked"] or 0, facts_correct=row["facts_correct"] or 0,
            fact_checks=json.loads(row["fact_checks"] or "[]"),
            validator_version=row["validator_version"],
        )
        for row in await connection.fetch(_VALIDATIONS, run_id, domain)
    ]


async def _embeddings(connection: Db, run_id: UUID,
                      domain: str) -> tuple[list[EmbeddingRow], set[tuple[str, str]]]:
    rows = await connection.fetch(_EMBEDDINGS, run_id, domain)
    return ([EmbeddingRow(r["provider"], r["prompt_id"], r["sample"], r["vector"]) for r in rows],
            {(r["embedding_model"], r["embedder_version"]) for r in rows})


async def neighbour_complete_run(connection: Db, domain: str, created: datetime,
                                 *, earlier: bool) -> UUID | None:
    """The nearest run before (or after) ``created`` whose part for ``domain`` is complete."""
    for row in await connection.fetch(_EARLIER if earlier else _LATER, domain, created,
                                      LOOK_BACK_RUNS):
        if await is_complete(connection, row["run_id"], domain):
            found: UUID = row["run_id"]
            return found
    return None


async def load_domain_run(connection: Db, run_id: UUID,
                          domain: str) -> DomainRun | None:
    """The run's data for ``domain``, or None while some of it is still missing."""
    created = await run_created_at(connection, run_id)
    if created is None or not await is_complete(connection, run_id, domain):
        return None
    validations = await _validations(connection, run_id, domain)
    embeddings, models = await _embeddings(connection, run_id, domain)
    previous_id = await neighbour_complete_run(connection, domain, created, earlier=True)
    previous_validations: list[ValidationRow] = []
    previous_embeddings: list[EmbeddingRow] = []
    if previous_id is not None:
        previous_validations = await _validations(connection, previous_id, domain)
        previous_embeddings, _ = await _embeddings(connection, previous_id, domain)
    versions = {
        "validator": ",".join(sorted({v.validator_version for v in validations})),
        "embedding_model": ",".join(sorted({model for model, _ in models})),
        "embedder": ",".join(sorted({version for _, version in models})),
    }
    return DomainRun(
        run_id=run_id, domain=domain, run_created_at=created, validations=validations,
        embeddings=embeddings, versions=versions, previous_run_id=previous_id,
        previous_validations=previous_validations, previous_embeddings=previous_embeddings,
    )


async def upsert_scores(connection: Db, scores: Sequence[BrandScore]) -> None:
    await connection.executemany(_UPSERT, [
        (s.run_id, s.domain, s.provider, s.scoring_version, s.run_created_at, s.samples,
         s.responses, list(s.model_versions), json.dumps(s.versions),
         json.dumps({name: getattr(s, name).model_dump() for name in METRICS}),
         s.previous_run_id, json.dumps([c.model_dump() for c in s.changes]), s.computed_at)
        for s in scores
    ])


async def run_scores(pool: asyncpg.Pool, run_id: UUID,
                     provider: str = "all") -> list[tuple[str, int, dict[str, Metric]]]:
    """(domain, samples, metrics) of every brand the run scored, for one provider (or across
    providers), best composite first."""
    rows = await pool.fetch(
        """SELECT domain, samples, metrics::text AS metrics FROM brand_scores
           WHERE run_id = $1 AND provider = $2 AND scoring_version = $3""",
        run_id, provider, SCORING_VERSION)
    scored = [(row["domain"], row["samples"],
               {name: Metric(**value) for name, value in json.loads(row["metrics"]).items()})
              for row in rows]
    scored.sort(key=lambda s: (-(s[2]["composite"].value or 0.0), s[0]))
    return scored


async def scored_count(pool: asyncpg.Pool, run_id: UUID) -> int:
    """Brand scores the run has (every provider and 'all')."""
    found: int = await pool.fetchval(
        "SELECT count(*) FROM brand_scores WHERE run_id = $1 AND scoring_version = $2",
        run_id, SCORING_VERSION)
    return found
