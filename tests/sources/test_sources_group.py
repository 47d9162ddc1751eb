"""The sources group on the real stack, fed real recorded web-search bodies: each retrieval answer
is read from the body kept with its call, its sources classed and stored once under the
extractor's version (a replayed answer adds nothing) and published on ``citations.found``; an
answer without a kept body, or with one that cannot be read, is dead-lettered with the reason and
the group goes on."""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from contracts import CITATIONS_FOUND, RESPONSES_RAW, CitationsFound, RawResponse
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.kafka.topic_reader import read_records
from streams.ops.redrive import read_dead_letters
from streams.providers.citations import EXTRACTOR_VERSION
from tests.support.groups import running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / (
    "provider-responses")
OWN = "accuweather.com"  # the recorded answer cites this site: here it is the tracked brand's


async def _answered_call(db: asyncpg.Connection, run_id: uuid.UUID, *, api: str,
                         body: bytes | None) -> RawResponse:
    """A run with one answered retrieval call whose body was kept (or not)."""
    domain = OWN
    call_id = uuid.uuid4()
    await db.execute(
        """INSERT INTO runs (run_id, prompt_set, providers, samples, expected_domains, mode,
                             status)
           VALUES ($1, 'default', '{anthropic}', 1, 1, 'retrieval', 'complete')
           ON CONFLICT DO NOTHING""", run_id)
    await db.execute("INSERT INTO domains (domain, name) VALUES ($1, $1) ON CONFLICT DO NOTHING",
                     domain)
    await db.execute("INSERT INTO run_domains (run_id, domain) VALUES ($1, $2) "
                     "ON CONFLICT DO NOTHING", run_id, domain)
    await db.execute(
        """INSERT INTO calls (call_id, run_id, domain, provider, model, prompt_id,
                              prompt_version, sample, status)
           VALUES ($1, $2, $3, 'anthropic', 'claude', 'describe', 1, 0, 'ok')""",
        call_id, run_id, domain)
    if body is not None:
        await db.execute(
            """INSERT INTO response_bodies (call_id, run_id, api, body, raw_bytes)
               VALUES ($1, $2, $3, $4, $5)""", call_id, run_id, api, body, len(body))
    return RawResponse(call_id=call_id, run_id=run_id, domain=domain, provider="anthropic",
                       model="claude", prompt_id="describe", prompt_version=1, sample=0,
                       status="ok", mode="retrieval", text="…", responded_at=datetime.now(UTC))


@pytest.fixture
async def db(migrated: Settings) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(migrated.postgres.dsn.get_secret_value())
    try:
        yield connection
    finally:
        await connection.close()


async def test_sources_are_read_from_kept_bodies_once_and_bad_ones_dead_lettered(
        migrated: Settings, db: asyncpg.Connection) -> None:
    settings = Settings()
    raw = (FIXTURES / "anthropic_websearch_2.json").read_bytes()
    expected = json.loads((FIXTURES / "anthropic_websearch_2.expected.json").read_text())
    run_id = uuid.uuid4()
    good = await _answered_call(db, run_id, api="anthropic_messages", body=zlib.compress(raw))
    missing = await _answered_call(db, run_id, api="anthropic_messages", body=None)
    garbage = await _answered_call(db, run_id, api="anthropic_messages", body=b"not zlib")
    memory = good.model_copy(update={"call_id": uuid.uuid4(), "mode": "memory"})
    later = await _answered_call(db, run_id, api="anthropic_messages", body=zlib.compress(raw))
    marker = uuid.uuid4().hex
    broker = create_broker(settings)
    async with broker, running_groups(["sources"], settings):
        await broker.connect()
        # The good answer twice (a replay), then the bad ones, a memory answer (nothing to
        # read), and a good one after them all: the group must still be reading.
        for answer in (good, good, missing, garbage, memory, later):
            await broker.publish(answer, RESPONSES_RAW.name, key=answer.domain.encode(),
                                 headers={"x-test-marker": marker})

        async def read_both() -> bool:
            return bool(await db.fetchval(
                "SELECT count(*) FROM source_extractions WHERE run_id = $1", run_id) == 2)

        await wait_until(read_both, timeout_s=60, what="both good answers read")

    rows = await db.fetch(
        """SELECT url, domain, cited, source_class, brand, spans::text, extractor_version
           FROM citations WHERE call_id = $1 ORDER BY ordinal""", good.call_id)
    want = {s["url"]: s["status"] for s in expected["sources"]}
    assert {r["url"]: ("retrieved_only" if not r["cited"] else "cited") for r in rows} == {
        url: ("retrieved_only" if status == "retrieved_only" else "cited")
        for url, status in want.items()}
    assert {r["extractor_version"] for r in rows} == {EXTRACTOR_VERSION}
    # The run's own domain is the brand: its site is "own", the rest third parties, classed.
    assert {r["source_class"] for r in rows if r["domain"] == OWN} == {"own"}
    assert all(r["source_class"] != "own" for r in rows if r["domain"] != OWN)
    assert any(json.loads(r["spans"]) for r in rows if r["cited"])
    queries = await db.fetch("SELECT query FROM search_queries WHERE call_id = $1 ORDER BY "
                             "ordinal", good.call_id)
    assert [q["query"] for q in queries] == expected["search_queries"]

    records = [CitationsFound.model_validate_json(record.value)
               async for record in read_records(settings.kafka.bootstrap,
                                                [CITATIONS_FOUND.name])]
    published = [found for found in records if found.run_id == run_id]
    # At least once on the topic (a replay may publish again), identical each time.
    assert {f.call_id for f in published} == {good.call_id, later.call_id}
    for found in published:
        assert [s.url for s in found.sources] == [r["url"] for r in rows]

    letters = [letter for letter in await read_dead_letters(settings.kafka.bootstrap,
                                                            RESPONSES_RAW.name)
               if letter.headers.get("x-test-marker") == marker
               and letter.headers["dlt-consumer-group"] == "sources"]
    reasons = {json.loads(letter.record.value)["call_id"]:
               letter.headers["dlt-exception-message"] for letter in letters}
    assert set(reasons) == {str(missing.call_id), str(garbage.call_id)}
    assert "no provider body is kept" in reasons[str(missing.call_id)]
    assert "not compressed JSON" in reasons[str(garbage.call_id)]
