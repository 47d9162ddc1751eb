"""kill -9 of each downstream group (reality-validation, embedding, scoring) while it works
through a backlog of stored answers: each kill lands mid-backlog, and after restart every ok
answer has its validation and its embedding, and every domain its scores, none missing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from producers.domain_file import DomainEntry
from streams.config import Settings
from streams.validation.facts import load_facts_file
from tests.support.faults import run_row
from tests.support.groups import publish_domains
from tests.support.kafka import wait_until
from tests.support.processes import group_processes

pytestmark = pytest.mark.stack

PROVIDERS = ["openai", "anthropic", "google"]
DOMAINS = 8
SAMPLES = 5
ANSWERS = DOMAINS * len(PROVIDERS) * 3 * SAMPLES  # 360
# One row per provider and one for 'all', per domain.
SCORES = DOMAINS * (len(PROVIDERS) + 1)


async def test_killed_downstream_groups_lose_nothing(
    migrated: Settings, simulator: Any, tmp_path: Path
) -> None:
    dsn = migrated.postgres.dsn.get_secret_value()
    await load_facts_file(migrated)
    run_id = uuid.uuid4()
    tag = uuid.uuid4().hex[:8]
    entries = [DomainEntry(line=i, domain=f"downstream{i}-{tag}.example", name=f"Brand {i}")
               for i in range(DOMAINS)]
    connection = await asyncpg.connect(dsn)

    async def count(sql: str) -> int:
        return int(await connection.fetchval(sql, run_id))

    async def validated() -> int:
        return await count("""SELECT count(*) FROM validations v JOIN responses r USING (call_id)
                              WHERE r.run_id = $1 AND r.status = 'ok'""")

    async def embedded() -> int:
        return await count("""SELECT count(*) FROM embeddings e JOIN responses r USING (call_id)
                              WHERE r.run_id = $1 AND r.status = 'ok'""")

    async def scored() -> int:
        return await count("SELECT count(*) FROM brand_scores WHERE run_id = $1")

    try:
        with group_processes(tmp_path, providers=json.dumps(PROVIDERS),
                             web_presence_checks="false", kafka_max_batch="20",
                             kafka_session_timeout_ms="3000",
                             kafka_heartbeat_interval_ms="500") as groups:
            groups.start("capture")
            groups.start("provider-calls")
            await publish_domains(migrated, entries, run_id, samples=SAMPLES, providers=PROVIDERS)

            async def stored() -> bool:
                row = await run_row(dsn, run_id)
                return bool(row and row["status"] == "complete")

            await wait_until(stored, timeout_s=120, what="every answer stored")

            # Each group meets a backlog of every answer; it is killed after its first batches.
            # Scoring starts before embedding, so it scores domain by domain as their
            # embeddings complete, and is killed after the first.
            at_kill: dict[str, int] = {}
            for group, progress, total in (("reality-validation", validated, ANSWERS),
                                           ("embedding", embedded, ANSWERS)):
                if group == "embedding":
                    groups.start("scoring")
                groups.start(group)

                async def started(progress: Any = progress) -> bool:
                    return int(await progress()) > 0

                await wait_until(started, timeout_s=120, what=f"{group} under way",
                                 every_s=0.05)
                groups.kill(group)
                at_kill[group] = await progress()
                assert 0 < at_kill[group] < total, f"{group} was killed mid-backlog"
                groups.start(group)

            async def some_scored() -> bool:
                return await scored() > 0

            await wait_until(some_scored, timeout_s=180, what="the first scores", every_s=0.05)
            groups.kill("scoring")
            at_kill["scoring"] = await scored()
            groups.start("scoring")

            async def all_done() -> bool:
                return (await validated(), await embedded(), await scored()) == (
                    ANSWERS, ANSWERS, SCORES)

            await wait_until(all_done, timeout_s=240, what="every answer validated, embedded "
                             "and every domain scored", every_s=1)
    finally:
        await connection.close()
    assert at_kill["scoring"] < SCORES, "scoring was killed before it had scored every domain"
