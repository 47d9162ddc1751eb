"""Project runs in PostgreSQL: the answers to read, what was read in each (``answer_brands``,
``answer_discoveries``), and the scores (``visibility_scores``). Every write is keyed by (call,
extractor version, brand) or (run, scope, brand, versions): a redelivered or replayed response
adds nothing, and scores are recomputed from the stored rows, never accumulated."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from contracts import ProjectRequest, VisibilityScore
from streams.runtime.postgres import Db
from streams.visibility.extraction import Extraction, discovered_key
from streams.visibility.metrics import AnswerReading, BrandReading, ProjectRunReadings


@dataclass(frozen=True, slots=True)
class StoredResponse:
    call_id: UUID
    run_id: UUID
    provider: str
    prompt_id: str
    status: str
    text: str | None


async def project_runs(db: Db, run_ids: Iterable[UUID]) -> dict[UUID, ProjectRequest]:
    """The project each of ``run_ids`` asked, for those that are project runs."""
    rows = await db.fetch("SELECT run_id, request FROM project_runs WHERE run_id = ANY($1)",
                          list(set(run_ids)))
    return {row["run_id"]: ProjectRequest.model_validate_json(row["request"]) for row in rows}


async def stored_responses(db: Db, call_ids: Iterable[UUID]) -> dict[UUID, StoredResponse]:
    rows = await db.fetch(
        """SELECT call_id, run_id, provider, prompt_id, status, text FROM responses
           WHERE call_id = ANY($1::uuid[])""", list(set(call_ids)))
    return {row["call_id"]: StoredResponse(**dict(row)) for row in rows}


async def planned(db: Db, call_ids: Iterable[UUID]) -> set[UUID]:
    rows = await db.fetch("SELECT call_id FROM calls WHERE call_id = ANY($1::uuid[])",
                          list(set(call_ids)))
    return {row["call_id"] for row in rows}


async def save_extractions(
    db: Db, extractions: Sequence[tuple[StoredResponse, ProjectRequest, Extraction]],
    *, extractor_version: str,
) -> None:
    brand_rows = [
        (answer.call_id, extractor_version, reading.domain, answer.run_id, reading.mentioned,
         reading.rank, reading.sentiment)
        for answer, _, extraction in extractions for reading in extraction.brands
    ]
    discovery_rows = [
        (answer.call_id, extractor_version, key, name, answer.run_id)
        for answer, _, extraction in extractions for name in extraction.discovered
        if (key := discovered_key(name))
    ]
    await db.execute(
        """INSERT INTO answer_brands (call_id, extractor_version, brand, run_id, mentioned, rank,
                                      sentiment)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::bool[],
                                $6::int[], $7::float8[])
           ON CONFLICT DO NOTHING""",
        *map(list, zip(*brand_rows, strict=True)) if brand_rows else ([],) * 7)
    if discovery_rows:
        await db.execute(
            """INSERT INTO answer_discoveries (call_id, extractor_version, name_key, name, run_id)
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[])
               ON CONFLICT DO NOTHING""",
            *map(list, zip(*discovery_rows, strict=True)))


# Final (no call can still answer) and every answer read by this extractor version.
_READY = """
SELECT r.status <> 'running'
       AND (SELECT count(*) FROM responses s WHERE s.run_id = r.run_id AND s.status = 'ok')
         = (SELECT count(DISTINCT b.call_id) FROM answer_brands b
            WHERE b.run_id = r.run_id AND b.extractor_version = $2)
FROM runs r WHERE r.run_id = $1
"""

_READINGS = """
SELECT b.call_id, c.provider, c.prompt_id, c.prompt_version, b.brand, b.mentioned, b.rank,
       b.sentiment
FROM answer_brands b JOIN calls c ON c.call_id = b.call_id
WHERE b.run_id = $1 AND b.extractor_version = $2
ORDER BY b.call_id, b.brand
"""


async def load_readings(db: Db, run_id: UUID,
                        extractor_version: str) -> ProjectRunReadings | None:
    """The run's readings, or None while it is not final or not all read."""
    if not await db.fetchval(_READY, run_id, extractor_version):
        return None
    row = await db.fetchrow(
        """SELECT p.request, r.created_at, r.mode FROM project_runs p JOIN runs r USING (run_id)
           WHERE p.run_id = $1""", run_id)
    if row is None:
        return None
    request = ProjectRequest.model_validate_json(row["request"])
    topics = {prompt.id: prompt.topic for prompt in request.prompts}
    brands = tuple(brand.domain for brand in request.brands)
    answers: dict[UUID, tuple[asyncpg.Record, dict[str, BrandReading]]] = {}
    for reading in await db.fetch(_READINGS, run_id, extractor_version):
        _, by_brand = answers.setdefault(reading["call_id"], (reading, {}))
        by_brand[reading["brand"]] = BrandReading(reading["mentioned"], reading["rank"],
                                                  reading["sentiment"])
    return ProjectRunReadings(
        run_id=run_id, project=request.name, run_created_at=row["created_at"], own=brands[0],
        brands=brands, extractor_version=extractor_version, precision=request.precision,
        mode=row["mode"],
        answers=tuple(
            AnswerReading(call_id=call_id, provider=first["provider"],
                          prompt_id=first["prompt_id"], prompt_version=first["prompt_version"],
                          topic=topics.get(first["prompt_id"], "general"), brands=by_brand)
            for call_id, (first, by_brand) in answers.items()
            # A brand the extractor did not read (none should be missing) leaves the answer out
            # rather than counting it as silence.
            if by_brand.keys() >= set(brands)),
    )


async def planned_per_cell(db: Db, run_id: UUID) -> dict[tuple[str, str], int]:
    """Calls planned per (provider, prompt) of the run; empty when its cost cap stopped it (no
    more rounds are asked then)."""
    if await db.fetchval("SELECT skipped_calls > 0 FROM runs WHERE run_id = $1", run_id):
        return {}
    rows = await db.fetch("""SELECT provider, prompt_id, count(*) AS calls FROM calls
                             WHERE run_id = $1 GROUP BY provider, prompt_id""", run_id)
    return {(row["provider"], row["prompt_id"]): row["calls"] for row in rows}


# Only runs of the same mode are neighbours: memory and retrieval are never compared as change.
_NEIGHBOURS = """
SELECT run_id FROM runs WHERE project = $1 AND run_id <> $3 AND {}
  AND mode = (SELECT mode FROM runs WHERE run_id = $3) ORDER BY {} LIMIT 5
"""


async def neighbour_run(db: Db, project: str, created: datetime, run_id: UUID, *,
                        earlier: bool, extractor_version: str) -> ProjectRunReadings | None:
    """The nearest ready run of the project before (or after) ``created``."""
    query = _NEIGHBOURS.format(
        *(("created_at < $2", "created_at DESC, run_id") if earlier
          else ("created_at > $2", "created_at, run_id")))
    for row in await db.fetch(query, project, created, run_id):
        readings = await load_readings(db, row["run_id"], extractor_version)
        if readings is not None:
            return readings
    return None


_UPSERT = """
INSERT INTO visibility_scores (run_id, project, brand, own, provider, topic, prompt_id,
    extractor_version, metrics_version, run_created_at, samples, metrics, rank_distribution,
    previous_run_id, changes, computed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14, $15::jsonb,
        $16)
ON CONFLICT (run_id, brand, provider, topic, prompt_id, extractor_version, metrics_version)
DO UPDATE SET samples = EXCLUDED.samples, metrics = EXCLUDED.metrics,
    rank_distribution = EXCLUDED.rank_distribution, previous_run_id = EXCLUDED.previous_run_id,
    changes = EXCLUDED.changes, computed_at = EXCLUDED.computed_at
"""


def metrics_json(score: VisibilityScore) -> str:
    return json.dumps({name: getattr(score, name).model_dump(mode="json")
                       for name in ("visibility", "share_of_voice", "position", "sentiment")})


async def upsert_scores(db: Db, scores: Sequence[VisibilityScore]) -> None:
    await db.executemany(_UPSERT, [
        (s.run_id, s.project, s.brand, s.own, s.provider, s.topic, s.prompt_id,
         s.extractor_version, s.metrics_version, s.run_created_at, s.samples, metrics_json(s),
         json.dumps(s.rank_distribution), s.previous_run_id,
         json.dumps([c.model_dump(mode="json") for c in s.changes]), s.computed_at)
        for s in scores
    ])


@dataclass(frozen=True, slots=True)
class Discovered:
    name: str
    answers: int


async def discovered(db: Db, run_id: UUID, extractor_version: str,
                     limit: int = 10) -> tuple[int, list[Discovered]]:
    """(answers read, the untracked names most answers ranked), most frequent first."""
    answers = await db.fetchval(
        """SELECT count(DISTINCT call_id) FROM answer_brands
           WHERE run_id = $1 AND extractor_version = $2""", run_id, extractor_version)
    rows = await db.fetch(
        """SELECT mode() WITHIN GROUP (ORDER BY name) AS name, count(*) AS answers
           FROM answer_discoveries WHERE run_id = $1 AND extractor_version = $2
           GROUP BY name_key ORDER BY count(*) DESC, name_key LIMIT $3""",
        run_id, extractor_version, limit)
    return int(answers or 0), [Discovered(r["name"], r["answers"]) for r in rows]
