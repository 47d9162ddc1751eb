"""Runs in PostgreSQL: planning, exact counters under redelivery, and the end state of a run.

Every write is keyed by a business id (run, (run, domain), call), so a redelivered or replayed
message changes nothing; counters move only in the transaction whose insert actually happened."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from contracts import DomainRequested, ProviderCallRequested, RawResponse

_FINISH_RUNS = """
UPDATE runs SET
    status = CASE
        WHEN succeeded_calls = 0 THEN 'failed'
        WHEN succeeded_calls::float8 / expected_calls < $2 THEN 'degraded'
        ELSE 'complete' END,
    finished_at = now()
WHERE run_id = ANY($1::uuid[]) AND status = 'running'
  AND planned_domains = expected_domains
  AND succeeded_calls + failed_calls = expected_calls
"""


async def record_plan(
    pool: asyncpg.Pool, request: DomainRequested, calls: Sequence[ProviderCallRequested]
) -> list[ProviderCallRequested]:
    """Record the run, the domain and its calls; return the calls still waiting for an answer
    (all of them the first time, those without a response on a redelivery)."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            """INSERT INTO runs (run_id, prompt_set, providers, samples, expected_domains)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id) DO NOTHING""",
            request.run_id, request.prompt_set, list(request.providers), request.samples,
            request.run_size,
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
            await connection.executemany(
                """INSERT INTO calls (call_id, run_id, domain, provider, model, prompt_id,
                                      prompt_version, sample, request)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)""",
                [
                    (c.call_id, c.run_id, c.domain, c.provider, c.model, c.prompt_id,
                     c.prompt_version, c.sample, c.model_dump_json())
                    for c in calls
                ],
            )
            await connection.execute(
                """UPDATE runs SET planned_domains = planned_domains + 1,
                                   expected_calls = expected_calls + $2 WHERE run_id = $1""",
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


async def claim_call(pool: asyncpg.Pool, call_id: UUID, *, lease_s: float) -> bool:
    """Take a pending call for this process, unless another took it within the lease: this is
    what keeps a duplicated call request from paying a provider twice."""
    claimed = await pool.fetchval(
        """UPDATE calls SET claims = claims + 1, claimed_at = now()
           WHERE call_id = $1 AND status = 'pending'
             AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => $2))
           RETURNING true""",
        call_id, lease_s,
    )
    return bool(claimed)


async def record_responses(
    pool: asyncpg.Pool, responses: Sequence[RawResponse], *, coverage_target: float
) -> tuple[list[UUID], list[UUID]]:
    """Persist responses once each; return (stored now, unknown call ids). Duplicates are
    neither: they were stored before and change nothing."""
    stored: list[UUID] = []
    unknown: list[UUID] = []
    succeeded: Counter[UUID] = Counter()
    failed: Counter[UUID] = Counter()
    async with pool.acquire() as connection, connection.transaction():
        for r in responses:
            outcome = await connection.fetchval(
                """WITH call AS (SELECT call_id FROM calls WHERE call_id = $1),
                        inserted AS (
                   INSERT INTO responses (call_id, run_id, domain, provider, model, prompt_id,
                       prompt_version, sample, status, text, model_version, finish_reason,
                       input_tokens, output_tokens, cost_usd, latency_ms, attempts, error_type,
                       error, key_fingerprint, trace_id, responded_at)
                   SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                          $17, $18, $19, $20, $21, $22 FROM call
                   ON CONFLICT (call_id) DO NOTHING RETURNING call_id)
                   SELECT CASE WHEN EXISTS (SELECT 1 FROM inserted) THEN 'stored'
                               WHEN EXISTS (SELECT 1 FROM call) THEN 'duplicate'
                               ELSE 'unknown' END""",
                r.call_id, r.run_id, r.domain, r.provider, r.model, r.prompt_id,
                r.prompt_version, r.sample, r.status, r.text, r.model_version, r.finish_reason,
                r.input_tokens, r.output_tokens, r.cost_usd, r.latency_ms, r.attempts,
                r.error_type, r.error, r.key_fingerprint, r.trace_id, r.responded_at,
            )
            if outcome == "unknown":
                unknown.append(r.call_id)
                continue
            if outcome == "stored":
                stored.append(r.call_id)
                (succeeded if r.status == "ok" else failed)[r.run_id] += 1
                await connection.execute(
                    "UPDATE calls SET status = $2 WHERE call_id = $1", r.call_id, r.status
                )
        # Sorted so that two processes updating the same runs always lock them in one order.
        for run_id in sorted(succeeded.keys() | failed.keys()):
            await connection.execute(
                """UPDATE runs SET succeeded_calls = succeeded_calls + $2,
                                   failed_calls = failed_calls + $3 WHERE run_id = $1""",
                run_id, succeeded[run_id], failed[run_id],
            )
        if stored:
            await connection.execute(
                _FINISH_RUNS, sorted(succeeded.keys() | failed.keys()), coverage_target
            )
    return stored, unknown
