"""What the fault tests share: run progress, simulator counters, killing a stack service."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from streams import stack


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
