"""What the fault tests share: run progress, simulator counters, killing a stack service."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from streams.devstack import stack


async def run_row(dsn: str, run_id: uuid.UUID) -> asyncpg.Record | None:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchrow("SELECT * FROM runs WHERE run_id = $1", run_id)
    finally:
        await connection.close()


async def answered(dsn: str, run_id: uuid.UUID) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(
            "SELECT count(*) FROM responses WHERE run_id = $1", run_id))
    finally:
        await connection.close()


async def paid_calls(simulator: Any) -> int:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{simulator.url}/_sim/stats?identities=0", timeout=5)
        response.raise_for_status()
        return int(response.json()["paid_calls"])


def kill_service(stack_dir: Path, service: str) -> None:
    """SIGKILL: no clean shutdown, as in a crash."""
    status = stack.stack_status(stack_dir=stack_dir)[service]
    assert status.running and status.pid, f"{service} is not running"
    os.kill(status.pid, signal.SIGKILL)


async def paid_by_identity(simulator: Any, run_id: uuid.UUID | None = None) -> dict[str, int]:
    """How often the provider was paid for each call identity (its model, prompt and sample),
    by every run or by ``run_id``'s calls alone (other tests' runs ask the same questions)."""
    query = {} if run_id is None else {"run": str(run_id)}
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{simulator.url}/_sim/stats", params=query, timeout=10)
        response.raise_for_status()
        return {identity: int(count)
                for identity, count in response.json()["calls_by_identity"].items()}


def identity_of(provider: str, model: str, prompt: str, sample: int) -> str:
    """The simulator's identity of a call (its ledger's key): provider, model, prompt, sample."""
    return hashlib.sha256("\x1f".join((provider, model, prompt, str(sample))).encode()
                          ).hexdigest()[:16]


async def in_flight(dsn: str, run_id: uuid.UUID) -> set[uuid.UUID]:
    """Calls of the run that a fault now can cost a second payment: answered but not stored, or
    taken by a provider-calls process and not answered (possibly being paid right now). Taken at
    any time, not only within the lease: on a starved machine a claim can go stale while its
    call is still in flight."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            """SELECT call_id FROM calls WHERE run_id = $1 AND (status = 'answered'
                   OR (status = 'pending' AND claimed_at IS NOT NULL))""",
            run_id)
        return {row["call_id"] for row in rows}
    finally:
        await connection.close()


async def claimed_calls(dsn: str, run_id: uuid.UUID) -> int:
    """Calls of the run a provider-calls process has taken and not yet answered."""
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(
            """SELECT count(*) FROM calls
               WHERE run_id = $1 AND status = 'pending' AND claimed_at IS NOT NULL""", run_id))
    finally:
        await connection.close()


async def stored_calls(dsn: str, call_ids: set[uuid.UUID]) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(
            "SELECT count(*) FROM calls WHERE call_id = ANY($1::uuid[]) AND status = 'ok'",
            list(call_ids)))
    finally:
        await connection.close()


async def stalled_calls(dsn: str, run_id: uuid.UUID) -> str:
    """Where a run's unfinished calls stand, for a failure's message: counts by status, and the
    oldest few with their claim and publish times."""
    connection = await asyncpg.connect(dsn)
    try:
        counts = await connection.fetch(
            "SELECT status, count(*) AS n FROM calls WHERE run_id = $1 GROUP BY status", run_id)
        oldest = await connection.fetch(
            """SELECT status, attempts, claims, now() - published_at AS since_published,
                      now() - claimed_at AS since_claimed, last_error
               FROM calls WHERE run_id = $1 AND status NOT IN ('ok', 'failed', 'skipped',
                                                             'dead_letter')
               ORDER BY published_at LIMIT 5""", run_id)
    finally:
        await connection.close()
    return (", ".join(f"{r['status']}: {r['n']}" for r in counts) + "; oldest unfinished: "
            + "; ".join(str(dict(r)) for r in oldest))


async def payments_by_call(dsn: str, run_id: uuid.UUID,
                           simulator: Any) -> dict[uuid.UUID, list[float]]:
    """When the provider was paid for each of the run's calls (Unix times): the simulator's own
    record for the run, mapped to call ids through the simulator's identity formula."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            """SELECT call_id, provider, model, request::text AS request FROM calls
               WHERE run_id = $1""", run_id)
    finally:
        await connection.close()
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{simulator.url}/_sim/stats", params={"run": str(run_id)},
                                    timeout=10)
        response.raise_for_status()
        paid_at: dict[str, list[float]] = response.json()["paid_at"]
    by_call = {}
    for row in rows:
        request = json.loads(row["request"])
        by_call[row["call_id"]] = paid_at.get(identity_of(row["provider"], row["model"],
                                                          request["prompt"],
                                                          request["sample"]), [])
    return by_call


async def answered_calls(dsn: str, run_id: uuid.UUID) -> set[uuid.UUID]:
    """Calls paid and published whose answer capture has not stored yet."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT call_id FROM calls WHERE run_id = $1 AND status = 'answered'", run_id)
        return {row["call_id"] for row in rows}
    finally:
        await connection.close()


async def describe_calls(dsn: str, call_ids: set[uuid.UUID]) -> str:
    """Where each call stands, for a failure's message: which fault path re-paid a call is in
    its claims and attempts."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            """SELECT call_id, status, attempts, claims, last_error, published_at, claimed_at
               FROM calls WHERE call_id = ANY($1::uuid[]) ORDER BY published_at""",
            list(call_ids))
    finally:
        await connection.close()
    return "\n".join(f"{r['call_id']}: status={r['status']} attempts={r['attempts']} "
                     f"claims={r['claims']} published={r['published_at']} "
                     f"claimed={r['claimed_at']} error={r['last_error']}" for r in rows) or "none"


def reconciler_lines(log: Path) -> str:
    """What a capture process's reconciler did, from its log."""
    return "\n".join(line for line in log.read_text(errors="replace").splitlines()
                     if "re-published" in line or "reconcile" in line) or "nothing"
