"""Find calls that are due and publish their original request again: retries whose back-off has
passed, and work lost anywhere (broker restart, crash before publishing) — calls neither stored
nor dead-lettered, published (or answered) longer ago than a grace period and held by no live
claim.

An answered call is paid for, and its answer is kept with it (``calls.answer``) until capture
stores it. An answer is lost only when capture has consumed every answer on the
``responses.raw`` partition its key maps to and it is still not stored; the reconciler then
publishes the kept answer again (capture stores each call's answer once), so a lost answer
never costs a second payment. While capture lags there (down, restarting, catching up) the
answer is waiting, not lost. The check is per partition so that a steady flow of answers
elsewhere does not hold a lost one back. A call answered before answers were kept (no
``answer``) is called again, as before."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner
from faststream.kafka import KafkaBroker

from contracts import PROVIDER_CALLS, RESPONSES_RAW
from streams.kafka.topic_reader import true_end_offsets
from streams.runs.store import end_runs_missing_domains

logger = logging.getLogger(__name__)

RECONCILED_HEADER = "x-reconciled"
# The group that stores answers (consumers/capture.py); named here to keep imports one way.
CAPTURE_GROUP = "capture"
_PARTITIONER = DefaultPartitioner()

_DUE_CALLS = """
UPDATE calls SET status = 'pending', published_at = now()
WHERE call_id IN (
    SELECT call_id FROM calls
    WHERE (status = 'retrying' AND next_attempt_at <= now())
       OR (status = 'pending'
           AND published_at < now() - make_interval(secs => $1)
           AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => $2)))
       -- answered before answers were kept, and the answer lost (with the broker or with
       -- the process that was to publish it): known only once capture has caught up on its
       -- partition ($4)
       OR (status = 'answered' AND answer IS NULL AND call_id = ANY($4::uuid[])
           AND claimed_at < now() - make_interval(secs => $1))
    ORDER BY next_attempt_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
RETURNING call_id, request::text AS request, attempts
"""


# Lost answers that were kept: published again as they are. Marked in the statement that
# selects them, so two reconcilers never publish the same answer at once.
_KEPT_ANSWERS = """
UPDATE calls SET claimed_at = now()
WHERE call_id = ANY($1::uuid[]) AND status = 'answered' AND answer IS NOT NULL
  AND claimed_at < now() - make_interval(secs => $2)
RETURNING call_id, domain, answer::text AS answer
"""


_OLD_ANSWERS = """
SELECT call_id, domain, answer IS NOT NULL AS kept,
       extract(epoch FROM now() - claimed_at)::float8 AS waited_s
FROM calls WHERE status = 'answered'
  AND claimed_at < now() - make_interval(secs => $1)
ORDER BY claimed_at LIMIT $2
"""
# A kept answer is published again (never paid again) once it has waited this many grace
# periods, even when the broker says capture has not caught up on its partition: that check
# can fail to clear (seen once in ten runs after a restart of the local broker), and a
# duplicate record costs capture nothing.
KEPT_ANSWER_PATIENCE = 3


async def caught_up_partitions(bootstrap: str) -> tuple[int, set[int]]:
    """``responses.raw``'s partition count, and the partitions on which the capture group has
    committed every answer there now; capture commits only after storing, so an answer
    published there before this check is stored by then."""
    ends = await true_end_offsets(bootstrap, [RESPONSES_RAW.name])
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        # Always with an explicit partition list: without one Tansu drops the connection.
        committed = await admin.list_consumer_group_offsets(CAPTURE_GROUP, partitions=list(ends))
    finally:
        await admin.close()
    caught = {tp.partition for tp, end in ends.items()
              if end == 0 or (tp in committed and committed[tp].offset >= end)}
    return len(ends), caught


async def lost_answers(pool: asyncpg.Pool, bootstrap: str, *, grace_s: float,
                       limit: int) -> list[UUID]:
    """Answered calls older than the grace whose answer capture has certainly missed. The
    broker is asked only when there are such calls to judge."""
    rows = await pool.fetch(_OLD_ANSWERS, grace_s, limit)
    if not rows:
        return []
    partitions, caught = await caught_up_partitions(bootstrap)
    everyone = list(range(partitions))
    lost = []
    for row in rows:
        # Answers are keyed by domain: the producer's own partitioner says where each went.
        if _PARTITIONER(row["domain"].encode(), everyone, everyone) in caught:
            lost.append(row["call_id"])
        elif row["kept"] and row["waited_s"] > KEPT_ANSWER_PATIENCE * grace_s:
            logger.warning("answer of call %s waited %.0f s, capture not caught up on its "
                           "partition: publishing the kept answer again", row["call_id"],
                           row["waited_s"])
            lost.append(row["call_id"])
    return lost


async def republish_due_calls(
    pool: asyncpg.Pool, broker: KafkaBroker, *, bootstrap: str, grace_s: float,
    lease_s: float, limit: int = 2000,
) -> int:
    """Publish every due call once; returns how many. Rows are marked published in the same
    statement that selects them, so two reconcilers never publish the same call at once; if the
    publish then fails, the call is due again after the grace period."""
    lost = await lost_answers(pool, bootstrap, grace_s=grace_s, limit=limit)
    answers = await pool.fetch(_KEPT_ANSWERS, lost, grace_s) if lost else []
    rows = await pool.fetch(_DUE_CALLS, grace_s, lease_s, limit, lost)
    pending: list[asyncio.Future[Any]] = []
    for row in answers:
        pending.append(await broker.publish(
            row["answer"].encode(), RESPONSES_RAW.name, key=row["domain"].encode(),
            headers={RECONCILED_HEADER: "answer", "content-type": "application/json"},
            correlation_id=str(row["call_id"]), no_confirm=True,
        ))
    for row in rows:
        pending.append(await broker.publish(
            row["request"].encode(), PROVIDER_CALLS.name, key=str(row["call_id"]).encode(),
            headers={RECONCILED_HEADER: str(row["attempts"]), "content-type": "application/json"},
            correlation_id=str(row["call_id"]), no_confirm=True,
        ))
    await asyncio.gather(*pending)
    if answers:
        logger.info("re-published %d lost answers (kept, not paid again)", len(answers))
    if rows:
        logger.info("re-published %d due calls", len(rows))
    return len(rows) + len(answers)


async def reconcile_forever(
    pool: asyncpg.Pool, broker: KafkaBroker, *, bootstrap: str, interval_s: float,
    grace_s: float, lease_s: float, domains_grace_s: float,
) -> None:
    """The periodic reconciler a capture process runs beside its subscriber: re-publishes due
    calls, and ends runs whose missing domains never arrived."""
    while True:
        try:
            await republish_due_calls(pool, broker, bootstrap=bootstrap, grace_s=grace_s,
                                      lease_s=lease_s)
            await end_runs_missing_domains(pool, grace_s=domains_grace_s)
        except Exception as exc:
            # PostgreSQL or the broker is away. The loop must outlive that: calls marked but not
            # published are simply due again after the grace period.
            logger.warning("reconcile round failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(interval_s)
