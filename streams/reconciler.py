"""Find calls that are due and publish their original request again: retries whose back-off has
passed, and work lost anywhere (broker restart, crash before publishing) — calls neither stored
nor dead-lettered, published (or answered) longer ago than a grace period and held by no live
claim."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker

from contracts import PROVIDER_CALLS

logger = logging.getLogger(__name__)

RECONCILED_HEADER = "x-reconciled"

_DUE_CALLS = """
UPDATE calls SET status = 'pending', published_at = now()
WHERE call_id IN (
    SELECT call_id FROM calls
    WHERE (status = 'retrying' AND next_attempt_at <= now())
       OR (status = 'pending'
           AND published_at < now() - make_interval(secs => $1)
           AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => $2)))
       -- answered, but the answer never reached PostgreSQL (lost with the broker)
       OR (status = 'answered' AND claimed_at < now() - make_interval(secs => $1))
    ORDER BY next_attempt_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
RETURNING call_id, domain, request::text AS request, attempts
"""


async def republish_due_calls(
    pool: asyncpg.Pool, broker: KafkaBroker, *, grace_s: float, lease_s: float,
    limit: int = 2000,
) -> int:
    """Publish every due call once; returns how many. Rows are marked published in the same
    statement that selects them, so two reconcilers never publish the same call at once; if the
    publish then fails, the call is due again after the grace period."""
    rows = await pool.fetch(_DUE_CALLS, grace_s, lease_s, limit)
    pending: list[asyncio.Future[Any]] = []
    for row in rows:
        pending.append(await broker.publish(
            row["request"].encode(), PROVIDER_CALLS.name, key=row["domain"].encode(),
            headers={RECONCILED_HEADER: str(row["attempts"]), "content-type": "application/json"},
            correlation_id=str(row["call_id"]), no_confirm=True,
        ))
    await asyncio.gather(*pending)
    if rows:
        logger.info("re-published %d due calls", len(rows))
    return len(rows)


async def reconcile_forever(
    pool: asyncpg.Pool, broker: KafkaBroker, *, interval_s: float, grace_s: float,
    lease_s: float,
) -> None:
    """The periodic reconciler a capture process runs beside its subscriber."""
    while True:
        try:
            await republish_due_calls(pool, broker, grace_s=grace_s, lease_s=lease_s)
        except Exception as exc:
            # PostgreSQL or the broker is away. The loop must outlive that: calls marked but not
            # published are simply due again after the grace period.
            logger.warning("reconcile round failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(interval_s)
