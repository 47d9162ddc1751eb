"""Runs in PostgreSQL: planning, exact counters under redelivery, and the end state of a run.

Every write is keyed by a business id (run, (run, domain), call), so a redelivered or replayed
message changes nothing; counters move only in the transaction whose insert actually happened."""

from __future__ import annotations

import json
import logging
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from contracts import ProviderCallRequested, RawResponse
from streams.runs.planning import PlannedDomain

logger = logging.getLogger(__name__)

_FINISH_RUNS = """
UPDATE runs SET
    status = CASE
        WHEN succeeded_calls = 0 THEN 'failed'
        WHEN skipped_calls > 0 OR succeeded_calls::float8 / expected_calls < $2 THEN 'degraded'
        ELSE 'complete' END,
    stop_reason = CASE WHEN skipped_calls > 0 THEN 'cost cap reached'
                       WHEN dead_lettered_calls > 0 THEN 'calls dead-lettered'
                       ELSE NULL END,
    finished_at = now()
WHERE run_id = ANY($1::uuid[]) AND status = 'running'
  AND planned_domains >= expected_domains
  AND succeeded_calls + failed_calls + skipped_calls + dead_lettered_calls = expected_calls
"""

# A run still waiting for domains that never came: everything planned is final, and no domain
# arrived within the grace period. A late domain puts it back to running (``record_plan``).
_END_RUNS_MISSING_DOMAINS = """
UPDATE runs SET
    status = CASE WHEN succeeded_calls = 0 THEN 'failed' ELSE 'degraded' END,
    stop_reason = format('%s of %s domains never arrived', expected_domains - planned_domains,
                         expected_domains),
    finished_at = now()
WHERE status = 'running' AND planned_domains < expected_domains
  AND succeeded_calls + failed_calls + skipped_calls + dead_lettered_calls = expected_calls
  AND created_at < now() - make_interval(secs => $1)
  AND NOT EXISTS (SELECT 1 FROM run_domains rd WHERE rd.run_id = runs.run_id
                  AND rd.planned_at > now() - make_interval(secs => $1))
RETURNING run_id, stop_reason
"""


# The ``responses`` columns a RawResponse fills, each named as its field, with its SQL type:
# the statement below, its unnest and the rows passed to it are all built from this one list.
RESPONSE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("call_id", "uuid"), ("run_id", "uuid"), ("domain", "text"), ("provider", "text"),
    ("model", "text"), ("prompt_id", "text"), ("prompt_version", "int"), ("sample", "int"),
    ("status", "text"), ("text", "text"), ("model_version", "text"), ("finish_reason", "text"),
    ("input_tokens", "int"), ("output_tokens", "int"), ("cost_usd", "float8"),
    ("latency_ms", "float8"), ("attempts", "int"), ("error_type", "text"), ("error", "text"),
    ("key_fingerprint", "text"), ("trace_id", "text"), ("responded_at", "timestamptz"),
    ("mode", "text"), ("web_searches", "int"),
)
_NAMES = ", ".join(name for name, _ in RESPONSE_COLUMNS)

# Each response once (the first of a call's duplicates in the batch), only for a planned call;
# the call takes the response's status. Outcome per call: stored, duplicate (stored before) or
# unknown (no such call). Data-modifying CTEs all see the snapshot from before the statement.
_STORE_RESPONSES = f"""
WITH input AS (
    SELECT DISTINCT ON (call_id) *
    FROM unnest({", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(RESPONSE_COLUMNS, 1))})
         WITH ORDINALITY AS r({_NAMES}, position)
    ORDER BY call_id, position),
inserted AS (
    INSERT INTO responses ({_NAMES})
    SELECT {", ".join(f"i.{name}" for name, _ in RESPONSE_COLUMNS)}
    FROM input i JOIN calls c ON c.call_id = i.call_id
    ON CONFLICT (call_id) DO NOTHING
    RETURNING call_id, status),
updated AS (
    UPDATE calls SET status = inserted.status, answer = NULL FROM inserted
    WHERE calls.call_id = inserted.call_id RETURNING calls.call_id)
SELECT i.call_id, i.run_id, i.status,
       CASE WHEN ins.call_id IS NOT NULL THEN 'stored'
            WHEN c.call_id IS NOT NULL THEN 'duplicate'
            ELSE 'unknown' END AS outcome
FROM input i
LEFT JOIN inserted ins ON ins.call_id = i.call_id
LEFT JOIN calls c ON c.call_id = i.call_id
"""


async def _insert_calls(connection: PoolConnectionProxy[asyncpg.Record],
                        calls: Sequence[ProviderCallRequested]) -> list[UUID]:
    """Insert the calls not planned before, in one statement; returns their ids."""
    if not calls:
        return []
    rows = await connection.fetch(
        """INSERT INTO calls (call_id, run_id, domain, provider, model, prompt_id,
                              prompt_version, sample, request)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                                $6::text[], $7::int[], $8::int[], $9::jsonb[])
           ON CONFLICT (call_id) DO NOTHING RETURNING call_id""",
        *map(list, zip(*[(c.call_id, c.run_id, c.domain, c.provider, c.model, c.prompt_id,
                          c.prompt_version, c.sample, c.model_dump_json()) for c in calls],
                       strict=True)))
    return [row["call_id"] for row in rows]


async def record_plan(
    pool: asyncpg.Pool, request: PlannedDomain, calls: Sequence[ProviderCallRequested]
) -> list[ProviderCallRequested]:
    """Record the run, the domain and its calls; return the calls still waiting for an answer
    (all of them the first time, those without a response on a redelivery)."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            """INSERT INTO runs (run_id, prompt_set, providers, samples, expected_domains,
                                 cost_cap_usd, project, mode, twin_run_id, refused)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
               ON CONFLICT (run_id) DO NOTHING""",
            request.run_id, request.prompt_label, list(request.providers), request.samples,
            request.run_size, request.cost_cap_usd,
            request.project.name if request.project else None, request.mode,
            request.twin_run_id, json.dumps(request.refused),
        )
        if request.project is not None:
            # The project as this run asked it: extraction and replays read it from here.
            await connection.execute(
                """INSERT INTO project_runs (run_id, project, request)
                   VALUES ($1, $2, $3::jsonb) ON CONFLICT (run_id) DO NOTHING""",
                request.run_id, request.project.name, request.project.model_dump_json(),
            )
        await connection.execute(
            """INSERT INTO domains (domain, name, aliases) VALUES ($1, $2, $3)
               ON CONFLICT (domain)
               DO UPDATE SET name = EXCLUDED.name, aliases = EXCLUDED.aliases""",
            request.domain, request.name, list(request.aliases),
        )
        newly_planned = await connection.fetchval(
            """INSERT INTO run_domains (run_id, domain) VALUES ($1, $2)
               ON CONFLICT DO NOTHING RETURNING true""",
            request.run_id, request.domain,
        )
        if newly_planned:
            await _insert_calls(connection, calls)
            # A late domain reopens a run that had ended without it.
            await connection.execute(
                """UPDATE runs SET planned_domains = planned_domains + 1,
                                   expected_calls = expected_calls + $2, status = 'running',
                                   stop_reason = NULL, finished_at = NULL
                   WHERE run_id = $1""",
                request.run_id, len(calls),
            )
        pending = {
            row["call_id"]
            for row in await connection.fetch(
                """SELECT call_id FROM calls
                   WHERE run_id = $1 AND domain = $2 AND status = 'pending'""",
                request.run_id, request.domain,
            )
        }
    return [call for call in calls if call.call_id in pending]


async def record_round(
    pool: asyncpg.Pool, request: PlannedDomain, calls: Sequence[ProviderCallRequested]
) -> list[ProviderCallRequested] | None:
    """Record a round of more samples for cells of a planned project run: the calls not planned
    before, counted into the run, which is running again until they are final. Returns the
    calls still waiting for an answer, or None when the run was never planned here."""
    async with pool.acquire() as connection, connection.transaction():
        planned = await connection.fetchval(
            "SELECT true FROM run_domains WHERE run_id = $1 AND domain = $2 FOR UPDATE",
            request.run_id, request.domain)
        if not planned:
            return None
        added = await _insert_calls(connection, calls)
        if added:
            await connection.execute(
                """UPDATE runs SET expected_calls = expected_calls + $2, status = 'running',
                                   stop_reason = NULL, finished_at = NULL
                   WHERE run_id = $1""", request.run_id, len(added))
        pending = {
            row["call_id"] for row in await connection.fetch(
                "SELECT call_id FROM calls WHERE call_id = ANY($1::uuid[]) AND status = 'pending'",
                [c.call_id for c in calls])
        }
    return [call for call in calls if call.call_id in pending]


async def end_runs_missing_domains(pool: asyncpg.Pool, *, grace_s: float) -> int:
    """End runs whose missing domains did not arrive within ``grace_s``: degraded (or failed),
    with the count in ``stop_reason``. Returns how many ended."""
    rows = await pool.fetch(_END_RUNS_MISSING_DOMAINS, grace_s)
    for row in rows:
        logger.warning("run %s ended: %s", row["run_id"], row["stop_reason"])
    return len(rows)


async def mark_answered(pool: asyncpg.Pool, answers: Sequence[RawResponse], *,
                        max_body_bytes: int | None = None) -> None:
    """The answers are about to be published: no claim may take (and pay for) their calls again
    while capture has not stored them, and each answer is kept with its call, so that one lost
    on the way is published again by the reconciler, not paid for again. The provider's bodies
    are kept in the same statement (compressed; not when larger than ``max_body_bytes``). One
    statement for the lot: calls answered together are marked together."""
    bodies = [None if answer.raw_body is None or (
        max_body_bytes is not None and len(answer.raw_body) > max_body_bytes)
        else answer.raw_body for answer in answers]
    await pool.execute(
        """WITH given AS (
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::int[])
                   AS g(call_id, answer, api, body, raw_bytes)),
           marked AS (
               UPDATE calls c SET status = 'answered', claimed_at = now(),
                                  answer = g.answer::jsonb
               FROM given g WHERE c.call_id = g.call_id AND c.status = 'pending'
               RETURNING c.call_id, c.run_id)
           INSERT INTO response_bodies (call_id, run_id, api, body, raw_bytes)
           SELECT m.call_id, m.run_id, g.api, g.body, g.raw_bytes
           FROM marked m JOIN given g USING (call_id) WHERE g.body IS NOT NULL
           ON CONFLICT (call_id) DO NOTHING""",
        [answer.call_id for answer in answers],
        [answer.model_dump_json() for answer in answers],
        [answer.body_api or "" for answer in answers],
        [None if body is None else zlib.compress(body, 6) for body in bodies],
        [0 if body is None else len(body) for body in bodies])


async def schedule_retry(
    pool: asyncpg.Pool, call_id: UUID, *, attempts: int, delay_s: float, error: str
) -> None:
    """Release the call until its back-off has passed; the reconciler re-publishes it then."""
    await pool.execute(
        """UPDATE calls SET status = 'retrying', attempts = $2, claimed_at = NULL,
                            next_attempt_at = now() + make_interval(secs => $3), last_error = $4
           WHERE call_id = $1 AND status = 'pending'""",
        call_id, attempts, delay_s, error[:1000],
    )


async def mark_dead_lettered(
    pool: asyncpg.Pool, call_id: UUID, *, attempts: int, error: str, coverage_target: float
) -> None:
    """The call's request is in its dead-letter topic: count it, and finish its run if that was
    the last call without an outcome."""
    async with pool.acquire() as connection, connection.transaction():
        run_id = await connection.fetchval(
            """UPDATE calls SET status = 'dead_letter', attempts = $2, claimed_at = NULL,
                                last_error = $3
               WHERE call_id = $1 AND status = 'pending' RETURNING run_id""",
            call_id, attempts, error[:1000],
        )
        if run_id is not None:
            await connection.execute(
                "UPDATE runs SET dead_lettered_calls = dead_lettered_calls + 1 WHERE run_id = $1",
                run_id)
            await connection.execute(_FINISH_RUNS, [run_id], coverage_target)


async def record_responses(
    pool: asyncpg.Pool, responses: Sequence[RawResponse], *, coverage_target: float
) -> tuple[list[UUID], list[UUID]]:
    """Persist responses once each; return (stored now, unknown call ids). Duplicates are
    neither: they were stored before and change nothing."""
    stored: list[UUID] = []
    unknown: list[UUID] = []
    succeeded: Counter[UUID] = Counter()
    failed: Counter[UUID] = Counter()
    skipped: Counter[UUID] = Counter()
    counters = {"ok": succeeded, "failed": failed, "skipped": skipped}
    columns: list[list[Any]] = [[getattr(r, name) for r in responses]
                                for name, _ in RESPONSE_COLUMNS]
    async with pool.acquire() as connection, connection.transaction():
        # One statement for the whole batch: a round trip per response made capture the
        # pipeline's bottleneck at the providers' full rate.
        for row in await connection.fetch(_STORE_RESPONSES, *columns):
            if row["outcome"] == "unknown":
                unknown.append(row["call_id"])
            elif row["outcome"] == "stored":
                stored.append(row["call_id"])
                counters[row["status"]][row["run_id"]] += 1
        # Sorted so that two processes updating the same runs always lock them in one order.
        touched = sorted(succeeded.keys() | failed.keys() | skipped.keys())
        for run_id in touched:
            await connection.execute(
                """UPDATE runs SET succeeded_calls = succeeded_calls + $2,
                                   failed_calls = failed_calls + $3,
                                   skipped_calls = skipped_calls + $4 WHERE run_id = $1""",
                run_id, succeeded[run_id], failed[run_id], skipped[run_id],
            )
        if stored:
            await connection.execute(_FINISH_RUNS, touched, coverage_target)
    return stored, unknown
