"""Which consumer processes are alive: each beats into PostgreSQL while it runs."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid

import asyncpg

logger = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
ALIVE_WITHIN_S = 10.0


async def heartbeat_forever(pool: asyncpg.Pool, groups: list[str]) -> None:
    process_id = uuid.uuid4()
    try:
        while True:
            try:
                await pool.execute(
                    """INSERT INTO consumer_processes (process_id, groups, host, pid)
                       VALUES ($1, $2, $3, $4)
                       ON CONFLICT (process_id) DO UPDATE SET heartbeat_at = now()""",
                    process_id, groups, socket.gethostname(), os.getpid(),
                )
            except Exception as exc:
                logger.warning("heartbeat failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(HEARTBEAT_S)
    finally:
        # A clean stop says so at once; a killed process simply stops beating.
        try:
            await asyncio.wait_for(
                pool.execute("DELETE FROM consumer_processes WHERE process_id = $1", process_id),
                timeout=2,
            )
        except Exception:
            logger.info("could not remove heartbeat row; it expires in %.0f s", ALIVE_WITHIN_S)


async def live_processes(pool: asyncpg.Pool, group: str) -> int:
    count = await pool.fetchval(
        """SELECT count(*) FROM consumer_processes
           WHERE $1 = ANY(groups) AND heartbeat_at > now() - make_interval(secs => $2)""",
        group, ALIVE_WITHIN_S,
    )
    return int(count)
