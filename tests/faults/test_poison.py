"""Poison messages on every input topic land in its dead-letter twin with a reason, and the
consumer keeps processing what comes after them on the same partition."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import pytest

from contracts import DOMAINS_REQUESTED, PROVIDER_CALLS, RESPONSES_RAW
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.ops.redrive import read_dead_letters
from tests.support.groups import brand_entries, publish_domains, running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack

POISONS = {
    "not-json": b"{this is not json",
    "wrong-schema": b'{"hello": "world", "schema_version": 1}',
    "oversized": b'{"pad": "' + b"x" * 300_000 + b'"}',
}
EXPECTED_REASON = {
    "not-json": "not JSON",
    "wrong-schema": "schema violation",
    "oversized": "exceeds",
}


async def test_poison_on_every_input_topic(migrated: Settings, simulator: Any) -> None:
    settings = migrated
    entry = brand_entries(1, offset=100)[0]
    key = entry.domain.encode()  # same key as the good message after it: same partition
    topics = [DOMAINS_REQUESTED.name, PROVIDER_CALLS.name, RESPONSES_RAW.name]
    broker = create_broker(settings)
    async with broker:
        await broker.connect()
        for topic in topics:
            for kind, value in POISONS.items():
                await broker.publish(value, topic, key=key, headers={"x-test-poison": kind})
    run_id = uuid.uuid4()
    async with running_groups(["capture", "provider-calls"], settings):
        await publish_domains(settings, [entry], run_id)
        connection = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
        try:
            async def complete() -> bool:
                status = await connection.fetchval(
                    "SELECT status FROM runs WHERE run_id = $1", run_id)
                return bool(status == "complete")

            await wait_until(complete, timeout_s=60, what="the run after the poison messages")
        finally:
            await connection.close()

    letters = [
        letter for letter in await read_dead_letters(settings.kafka.bootstrap)
        if "x-test-poison" in letter.headers and letter.record.key == key
    ]
    found = {(letter.original_topic, letter.headers["x-test-poison"]): letter for letter in letters}
    assert set(found) == {(topic, kind) for topic in topics for kind in POISONS}
    assert len(letters) == len(found), "each poison message dead-lettered exactly once"
    for (topic, kind), letter in found.items():
        assert letter.record.topic == topic + ".dlt"
        assert letter.record.value == POISONS[kind], "dead letters carry the value unchanged"
        assert letter.headers["dlt-original-topic"] == topic
        assert int(letter.headers["dlt-original-offset"]) >= 0
        assert letter.headers["dlt-consumer-group"] == {
            PROVIDER_CALLS.name: "provider-calls", DOMAINS_REQUESTED.name: "capture-planning",
        }.get(topic, "capture")
        assert letter.headers["dlt-exception-type"] == "UndecodableRecord"
        assert EXPECTED_REASON[kind] in letter.headers["dlt-exception-message"]
        assert letter.headers["dlt-stage"] == "decode"

    listed = subprocess.run(
        [sys.executable, "-m", "streams.cli", "dlt", "list", "--reason", "UndecodableRecord"],
        capture_output=True, text=True, timeout=60, env=os.environ.copy(), check=True,
    )
    assert "provider.calls.dlt" in listed.stdout and "UndecodableRecord" in listed.stdout
