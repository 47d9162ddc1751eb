"""A commit that never ends (aiokafka retries a retriable commit error forever, as seen after a
restart of the local broker) must not hold a group's partitions unread: the batch is redelivered
and the process restarts its Kafka clients, then goes on."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from producers.domain_file import DomainEntry
from streams.config import Settings
from tests.support.faults import run_row
from tests.support.groups import publish_domains, running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack


async def test_stuck_commit_restarts_clients_and_the_run_completes(
    migrated: Settings, simulator: Any, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(kafka={"commit_timeout_s": 1})
    dsn = settings.postgres.dsn.get_secret_value()
    commit = AIOKafkaConsumer.commit
    stuck = asyncio.Event()

    async def first_commit_hangs(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> None:
        if not stuck.is_set():
            stuck.set()
            await asyncio.Event().wait()
        await commit(self, *args, **kwargs)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", first_commit_hangs)
    first, second = uuid.uuid4(), uuid.uuid4()
    caplog.set_level(logging.WARNING, logger="streams.runtime.runner")
    async with running_groups(["capture", "provider-calls"], settings):
        await publish_domains(settings, [DomainEntry(line=1, domain="stuck-commit.example",
                                                     name="Stuck Commit")], first,
                              providers=["mistral"])

        async def restarted() -> bool:
            return any("a commit never ended: restarting every Kafka client" in r.getMessage()
                       for r in caplog.records)

        async def complete(run_id: uuid.UUID) -> bool:
            row = await run_row(dsn, run_id)
            return bool(row and row["status"] == "complete")

        await wait_until(restarted, timeout_s=60,
                         what="the clients restarted after the stuck commit")
        await wait_until(lambda: complete(first), timeout_s=60,
                         what="the run whose commit stuck to complete")
        # The restarted clients consume and commit as before.
        await publish_domains(settings, [DomainEntry(line=1, domain="after-stuck.example",
                                                     name="After Stuck")], second,
                              providers=["mistral"])
        await wait_until(lambda: complete(second), timeout_s=60,
                         what="a run published after the restart to complete")
    assert stuck.is_set()
    row = await run_row(dsn, first)
    assert row is not None and row["succeeded_calls"] == row["expected_calls"] == 3
