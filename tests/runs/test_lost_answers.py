"""An answer paid for and lost on the way to capture (here: its publish fails, so the batch is
redelivered and the call, already answered, is not called again) is published again by the
reconciler from the answer kept with the call: stored once, and paid for once."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError
from faststream.kafka import KafkaBroker

from contracts import RESPONSES_RAW
from producers.domain_file import DomainEntry
from streams.config import Settings
from streams.runs.reconciler import RECONCILED_HEADER
from tests.support.faults import payments_by_call, run_row
from tests.support.groups import publish_domains, running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack


async def test_a_lost_answer_is_published_again_not_paid_again(
    migrated: Settings, simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(reconcile={"grace_s": 1, "interval_s": 0.5})
    dsn = settings.postgres.dsn.get_secret_value()
    publish = KafkaBroker.publish
    lost: set[str] = set()

    async def first_answers_lost(self: KafkaBroker, message: Any, topic: str = "",
                                 *args: Any, **kwargs: Any) -> Any:
        call = str(kwargs.get("correlation_id"))
        reconciled = RECONCILED_HEADER in (kwargs.get("headers") or {})
        if topic == RESPONSES_RAW.name and not reconciled and call not in lost:
            lost.add(call)
            raise KafkaConnectionError("lost on the way to the broker (injected by the test)")
        return await publish(self, message, topic, *args, **kwargs)

    monkeypatch.setattr(KafkaBroker, "publish", first_answers_lost)
    run_id = uuid.uuid4()
    async with running_groups(["capture", "provider-calls"], settings):
        await publish_domains(settings, [DomainEntry(line=1, domain="lost-answers.example",
                                                     name="Lost Answers")], run_id,
                              providers=["mistral"])

        async def complete() -> bool:
            row = await run_row(dsn, run_id)
            return bool(row and row["status"] == "complete")

        await wait_until(complete, timeout_s=90, what="the run whose answers were lost")
    connection = await asyncpg.connect(dsn)
    try:
        calls = await connection.fetch(
            "SELECT call_id, status, answer FROM calls WHERE run_id = $1", run_id)
    finally:
        await connection.close()
    assert len(calls) == 3 and {str(c["call_id"]) for c in calls} == lost, "every answer lost"
    assert {c["status"] for c in calls} == {"ok"}
    assert all(c["answer"] is None for c in calls), "a stored answer is not kept twice"
    paid = await payments_by_call(dsn, run_id, simulator)
    assert sorted(len(times) for times in paid.values()) == [1, 1, 1], "each paid once"
