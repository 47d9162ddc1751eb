"""What a run did, computed from the stored responses: per provider calls, outcomes, tokens,
web searches, cost and latency percentiles, and the run's coverage."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from streams.errors import DomainRunnerError


@dataclass(frozen=True)
class ProviderLine:
    provider: str
    calls: int
    ok: int
    failed: int
    skipped: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    p50_ms: float | None
    p95_ms: float | None
    web_searches: int = 0


@dataclass(frozen=True)
class RunReport:
    run_id: UUID
    status: str
    expected_domains: int
    planned_domains: int
    expected_calls: int
    succeeded_calls: int
    failed_calls: int
    providers: list[ProviderLine]
    skipped_calls: int = 0
    cost_cap_usd: float | None = None
    # Why the run stopped short of its plan (e.g. "cost cap reached"); None when it did not.
    stop_reason: str | None = None
    dead_lettered_calls: int = 0
    # Cells without an answer (at most MISSING_SHOWN): (domain, provider, prompt, sample,
    # call status, last error).
    missing: list[tuple[str, str, str, int, str, str | None]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status != "running"

    @property
    def coverage(self) -> float:
        return self.succeeded_calls / self.expected_calls if self.expected_calls else 0.0

    @property
    def answered(self) -> int:
        """Calls with a final outcome: answered, failed, or skipped for budget."""
        return self.succeeded_calls + self.failed_calls + self.skipped_calls

    @property
    def cost_usd(self) -> float:
        return sum(line.cost_usd for line in self.providers)


MISSING_SHOWN = 50


class RunNotFound(DomainRunnerError, LookupError):
    pass


# Per provider over the responses a condition selects (a run's, or a time window's).
_PROVIDER_LINES = """
SELECT provider, count(*) AS calls,
       count(*) FILTER (WHERE status = 'ok') AS ok,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'skipped') AS skipped,
       coalesce(sum(input_tokens), 0) AS input_tokens,
       coalesce(sum(output_tokens), 0) AS output_tokens,
       coalesce(sum(cost_usd), 0)::float8 AS cost_usd,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms)
           FILTER (WHERE status = 'ok') AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)
           FILTER (WHERE status = 'ok') AS p95_ms,
       coalesce(sum(web_searches), 0)::int AS web_searches
FROM responses WHERE {} GROUP BY provider ORDER BY provider
"""


async def provider_lines(pool: asyncpg.Pool, condition: str, *args: object) -> list[ProviderLine]:
    """``condition`` is one of this codebase's constant SQL conditions, never input."""
    return [ProviderLine(**dict(row))
            for row in await pool.fetch(_PROVIDER_LINES.format(condition), *args)]


async def run_report(pool: asyncpg.Pool, run_id: UUID, *, with_providers: bool = True) -> RunReport:
    run = await pool.fetchrow("SELECT * FROM runs WHERE run_id = $1", run_id)
    if run is None:
        raise RunNotFound(f"no run {run_id}")
    rows = await provider_lines(pool, "run_id = $1", run_id) if with_providers else []
    return RunReport(
        run_id=run_id,
        status=run["status"],
        expected_domains=run["expected_domains"],
        planned_domains=run["planned_domains"],
        expected_calls=run["expected_calls"],
        succeeded_calls=run["succeeded_calls"],
        failed_calls=run["failed_calls"],
        providers=rows,
        skipped_calls=run["skipped_calls"],
        cost_cap_usd=None if run["cost_cap_usd"] is None else float(run["cost_cap_usd"]),
        stop_reason=run["stop_reason"],
        dead_lettered_calls=run["dead_lettered_calls"],
        missing=[tuple(row) for row in await pool.fetch(
            """SELECT domain, provider, prompt_id, sample, status, last_error FROM calls
               WHERE run_id = $1 AND status NOT IN ('ok', 'skipped')
               ORDER BY domain, provider, prompt_id, sample LIMIT $2""",
            run_id, MISSING_SHOWN)] if with_providers and run["status"] != "running" else [],
    )
