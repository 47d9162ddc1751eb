"""Requests from producers outside this codebase, on the real stack: a librdkafka client sending
bare JSON (the documented minimal request, an unnormalised domain, a field this version does not
know, a schema version from the future, a non-domain), and a run whose domains never all arrive."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from confluent_kafka import Producer

from contracts import DOMAINS_REQUESTED, DomainRequested
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.ops.redrive import read_dead_letters
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack

EXAMPLE = Path(__file__).parents[2] / "examples" / "confluent_producer.py"
# Small runs: one provider, its three prompts, one sample.
PROVIDERS = ["openai"]


@pytest.fixture(scope="module")
async def groups(migrated: Settings, simulator: Any) -> AsyncIterator[Settings]:
    from tests.support.groups import running_groups

    settings = Settings(providers=PROVIDERS, run_domains_grace_s=3)
    async with running_groups(["capture", "provider-calls"], settings):
        yield settings


def unique_domain(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}.example"


def produce_raw(bootstrap: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for key, value in records:
        producer.produce(DOMAINS_REQUESTED.name, key=key, value=value)
    assert producer.flush(30) == 0


async def run_of(dsn: str, domain: str) -> asyncpg.Record | None:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchrow(
            """SELECT r.* FROM runs r JOIN run_domains rd ON rd.run_id = r.run_id
               WHERE rd.domain = $1""", domain)
    finally:
        await connection.close()


async def test_the_example_producer_asks_with_the_minimal_request(groups: Settings) -> None:
    dsn = groups.postgres.dsn.get_secret_value()
    domain = unique_domain("minimal")
    done = subprocess.run([sys.executable, str(EXAMPLE), groups.kafka.bootstrap, domain],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "requested 1 domain(s)" in done.stdout

    async def finished() -> bool:
        row = await run_of(dsn, domain)
        return bool(row and row["status"] != "running")

    await wait_until(finished, timeout_s=90, what="the minimal request's run to finish")
    row = await run_of(dsn, domain)
    assert row is not None
    # A run of its own, with every default: the deployment's providers, one sample.
    assert (row["status"], row["expected_domains"], row["samples"]) == ("complete", 1, 1)
    assert list(row["providers"]) == PROVIDERS
    assert row["succeeded_calls"] == row["expected_calls"] == 3


async def test_a_raw_record_is_normalised_tolerated_or_refused_with_a_reason(
    groups: Settings
) -> None:
    dsn = groups.postgres.dsn.get_secret_value()
    plain = unique_domain("normalised")
    future_field = unique_domain("tolerant")
    run_id = uuid.uuid4()
    too_new = unique_domain("too-new")
    records = [
        # Scheme, www., upper case and a path: planned under the normalised domain.
        (b"Anything", json.dumps({"domain": f"HTTP://WWW.{plain.upper()}/about"}).encode()),
        # A field this version does not know: read, not dead-lettered.
        (future_field.encode(), json.dumps({
            "domain": future_field, "run_id": str(run_id), "run_size": 1,
            "requested_at": datetime.now(UTC).isoformat(), "added_in_v1_5": {"x": 1}}).encode()),
        # A version from the future, and a value that is not a domain: refused with reasons.
        (too_new.encode(), json.dumps({"domain": too_new, "schema_version": 99}).encode()),
        (b"bad", json.dumps({"domain": "not a domain"}).encode()),
    ]
    produce_raw(groups.kafka.bootstrap, records)

    async def both_finished() -> bool:
        rows = [await run_of(dsn, plain), await run_of(dsn, future_field)]
        return all(row is not None and row["status"] != "running" for row in rows)

    await wait_until(both_finished, timeout_s=90, what="both accepted requests to finish")
    normalised = await run_of(dsn, plain)
    tolerated = await run_of(dsn, future_field)
    assert normalised is not None and normalised["status"] == "complete"
    assert tolerated is not None and tolerated["run_id"] == run_id
    assert tolerated["status"] == "complete"
    assert await run_of(dsn, too_new) is None

    async def dead_lettered() -> list[Any]:
        letters = await read_dead_letters(groups.kafka.bootstrap, DOMAINS_REQUESTED.name)
        return [letter for letter in letters if letter.record.key in (too_new.encode(), b"bad")]

    async def both_refused() -> bool:
        return len(await dead_lettered()) == 2

    await wait_until(both_refused, timeout_s=60, what="two refused requests in the .dlt")
    messages = {letter.record.key: letter.message for letter in await dead_lettered()}
    assert "schema_version 99 is newer than this reader understands (1)" in messages[
        too_new.encode()]
    assert "not a domain: contains whitespace" in messages[b"bad"]


async def test_a_run_missing_domains_ends_degraded_and_a_late_domain_completes_it(
    groups: Settings
) -> None:
    dsn = groups.postgres.dsn.get_secret_value()
    run_id = uuid.uuid4()
    domains = [unique_domain("partial") for _ in range(3)]
    requested_at = datetime.now(UTC)

    async def publish(domain: str) -> None:
        broker = create_broker(groups)
        async with broker:
            await broker.connect()
            await broker.publish(
                DomainRequested(run_id=run_id, domain=domain, providers=tuple(PROVIDERS),
                                run_size=3, requested_at=requested_at),
                DOMAINS_REQUESTED.name, key=domain.encode())

    for domain in domains[:2]:
        await publish(domain)

    async def ended() -> bool:
        row = await run_of(dsn, domains[0])
        return bool(row and row["status"] != "running")

    # Everything planned is answered within seconds; the grace (3 s) then ends the run.
    await wait_until(ended, timeout_s=90, what="the run to end without its third domain")
    row = await run_of(dsn, domains[0])
    assert row is not None
    assert (row["status"], row["stop_reason"]) == ("degraded", "1 of 3 domains never arrived")
    assert row["succeeded_calls"] == 6

    await publish(domains[2])

    async def complete() -> bool:
        row = await run_of(dsn, domains[0])
        return bool(row and row["status"] == "complete")

    await wait_until(complete, timeout_s=90, what="the late domain to complete the run")
    row = await run_of(dsn, domains[0])
    assert row is not None
    assert (row["planned_domains"], row["succeeded_calls"], row["stop_reason"]) == (3, 9, None)
