"""Bodies and sources in PostgreSQL: the stored provider bodies (``response_bodies``, written by
provider-calls) and what each extractor version read in them (``source_extractions``,
``citations``, ``search_queries``). Every write is keyed by (call, extractor version[, ordinal]):
a redelivered or replayed answer adds nothing, and a new extractor version adds its own rows
beside the old ones."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from contracts import CitationsFound, ProjectRequest, RawResponse
from streams.runtime.postgres import Db


@dataclass(frozen=True, slots=True)
class StoredBody:
    call_id: UUID
    api: str
    body: bytes  # zlib-compressed
    raw_bytes: int


@dataclass(frozen=True, slots=True)
class RunContext:
    """Whose sites a run's sources are: the own brand, and the tracked competitors."""

    run_id: UUID
    mode: str
    project: ProjectRequest | None
    own: str | None
    competitors: tuple[str, ...]


async def bodies(db: Db, call_ids: Iterable[UUID]) -> dict[UUID, StoredBody]:
    rows = await db.fetch(
        """SELECT call_id, api, body, raw_bytes FROM response_bodies
           WHERE call_id = ANY($1::uuid[])""", list(set(call_ids)))
    return {row["call_id"]: StoredBody(**dict(row)) for row in rows}


async def run_contexts(db: Db, run_ids: Iterable[UUID]) -> dict[UUID, RunContext]:
    """Each run's mode and tracked sites: a project run's brands; a domain run's one domain."""
    rows = await db.fetch(
        """SELECT r.run_id, r.mode, p.request,
                  (SELECT min(domain) FROM run_domains d WHERE d.run_id = r.run_id) AS domain
           FROM runs r LEFT JOIN project_runs p USING (run_id)
           WHERE r.run_id = ANY($1::uuid[])""", list(set(run_ids)))
    contexts = {}
    for row in rows:
        project = (ProjectRequest.model_validate_json(row["request"])
                   if row["request"] is not None else None)
        if project is not None:
            own: str | None = project.brands[0].domain
            competitors = tuple(brand.domain for brand in project.brands[1:])
        else:
            own, competitors = row["domain"], ()
        contexts[row["run_id"]] = RunContext(row["run_id"], row["mode"], project, own,
                                             competitors)
    return contexts


async def answered(db: Db, run_id: UUID) -> list[RawResponse]:
    """A run's stored ok answers, as the responses they were (for a re-extraction)."""
    rows = await db.fetch(
        """SELECT call_id, run_id, domain, provider, model, prompt_id, prompt_version, sample,
                  status, mode, text, model_version, finish_reason, input_tokens, output_tokens,
                  cost_usd, web_searches, responded_at
           FROM responses WHERE run_id = $1 AND status = 'ok' ORDER BY call_id""", run_id)
    return [RawResponse(**dict(row)) for row in rows]


async def save_found(db: Db, found: Sequence[CitationsFound]) -> int:
    """Store each answer's sources under its extractor version; returns how many answers were
    new (a replay of the same version stores nothing)."""
    if not found:
        return 0
    async def write(connection: asyncpg.Connection[asyncpg.Record]
                    | PoolConnectionProxy[asyncpg.Record]) -> int:
        new = await connection.fetch(
            """INSERT INTO source_extractions (call_id, extractor_version, run_id, sources, cited,
                                               web_searches)
               SELECT * FROM unnest($1::uuid[], $2::int[], $3::uuid[], $4::int[], $5::int[],
                                    $6::int[])
               ON CONFLICT DO NOTHING RETURNING call_id""",
            [f.call_id for f in found], [f.extractor_version for f in found],
            [f.run_id for f in found], [len(f.sources) for f in found],
            [sum(s.cited for s in f.sources) for f in found], [f.web_searches for f in found])
        fresh = {row["call_id"] for row in new}
        rows = [(f.call_id, f.extractor_version, s.ordinal, f.run_id, f.provider, f.prompt_id,
                 s.url, s.canonical_url, s.domain, s.title, s.cited,
                 json.dumps([list(span) for span in s.spans]), s.source_class, s.brand)
                for f in found if f.call_id in fresh for s in f.sources]
        if rows:
            await connection.executemany(
                """INSERT INTO citations (call_id, extractor_version, ordinal, run_id, provider,
                                          prompt_id, url, canonical_url, domain, title, cited,
                                          spans, source_class, brand)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14)
                   ON CONFLICT DO NOTHING""", rows)
        queries = [(f.call_id, f.extractor_version, ordinal, f.run_id, query)
                   for f in found if f.call_id in fresh
                   for ordinal, query in enumerate(f.search_queries, 1)]
        if queries:
            await connection.executemany(
                """INSERT INTO search_queries (call_id, extractor_version, ordinal, run_id, query)
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""", queries)
        return len(fresh)

    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as connection, connection.transaction():
            return await write(connection)
    async with db.transaction():
        return await write(db)


async def stored_sources(db: Db, run_id: UUID, version: int) -> list[asyncpg.Record]:
    """Every source row of a run under one extractor version, in a stable order."""
    return list(await db.fetch(
        """SELECT call_id, ordinal, url, canonical_url, domain, title, cited, spans::text,
                  source_class, brand
           FROM citations WHERE run_id = $1 AND extractor_version = $2
           ORDER BY call_id, ordinal""", run_id, version))


async def purge_bodies(db: Db, *, retention_days: int, now: datetime | None = None) -> int:
    """Drop bodies older than the retention; returns how many. Their extracted rows stay."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    deleted = await db.fetch(
        "DELETE FROM response_bodies WHERE stored_at < $1 RETURNING call_id", cutoff)
    return len(deleted)
