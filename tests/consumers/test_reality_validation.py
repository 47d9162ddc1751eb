"""reality-validation end to end on the real stack: capture, provider-calls and
reality-validation in this process against the simulator, websites on loopback."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from contracts import RESPONSES_RAW, RESPONSES_VALIDATED, RawResponse, ResponseValidated
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.kafka.topic_reader import read_records
from streams.ops.redrive import read_dead_letters
from streams.validation import VALIDATOR_VERSION
from streams.validation.facts import fetch_facts, load_facts_file
from streams.validation.presence_store import today
from streams.validation.store import brand_names, stored_answers
from streams.validation.validate import validate_answer
from tests.support.groups import brand_entries, publish_domains, running_groups
from tests.support.kafka import wait_committed, wait_until
from tests.support.websites import serve_sites

pytestmark = pytest.mark.stack

GROUP = "reality-validation"


@pytest.fixture(scope="module")
async def validating(migrated: Settings, simulator: Any) -> AsyncIterator[Settings]:
    await load_facts_file(migrated)
    async with serve_sites() as sites:
        settings = Settings(web_presence_hosts={"*": f"127.0.0.1:{sites.port}"},
                            web_presence_politeness_s=0.0, web_presence_timeout_s=3.0)
        async with running_groups(["capture", "provider-calls", GROUP], settings):
            yield settings


@pytest.fixture
async def db(validating: Settings) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(validating.postgres.dsn.get_secret_value())
    yield connection
    await connection.close()


async def run_validated(db: asyncpg.Connection, run_id: uuid.UUID) -> None:
    """Until the run has finished and every ok answer's verdict is stored and published."""
    async def done() -> bool:
        status = await db.fetchval("SELECT status FROM runs WHERE run_id = $1", run_id)
        if status in (None, "running"):
            return False
        missing = await db.fetchval(
            """SELECT count(*) FROM responses r LEFT JOIN validations v USING (call_id)
               WHERE r.run_id = $1 AND r.status = 'ok' AND v.published_at IS NULL""", run_id)
        return bool(missing == 0)

    await wait_until(done, timeout_s=120, what=f"run {run_id} validated")


async def validated_messages(settings: Settings, run_id: uuid.UUID) -> list[ResponseValidated]:
    messages = []
    async for record in read_records(settings.kafka.bootstrap, [RESPONSES_VALIDATED.name]):
        verdict = ResponseValidated.from_json(record.value)
        if verdict.run_id == run_id:
            assert record.key == verdict.domain.encode()
            messages.append(verdict)
    return messages


async def test_every_answer_validated_once_and_replay_adds_nothing(
        validating: Settings, db: asyncpg.Connection) -> None:
    settings = validating
    run_id = uuid.uuid4()
    entries = brand_entries(3, offset=50)  # brands 50-54: no other test publishes them
    await publish_domains(settings, entries, run_id)
    await run_validated(db, run_id)

    ok_ids = {r["call_id"] for r in await db.fetch(
        "SELECT call_id FROM responses WHERE run_id = $1 AND status = 'ok'", run_id)}
    rows = await db.fetch("SELECT * FROM validations WHERE run_id = $1", run_id)
    assert len(ok_ids) > 0.9 * 3 * 8 * 3
    assert Counter(r["call_id"] for r in rows) == Counter(ok_ids)  # one each, none for failures
    assert {r["validator_version"] for r in rows} == {VALIDATOR_VERSION}
    messages = await validated_messages(settings, run_id)
    assert Counter(m.call_id for m in messages) == Counter(ok_ids)

    # The simulator states most facts correctly: the checks find that, and find some mentions.
    checked = sum(r["facts_checked"] for r in rows)
    assert checked > 0 and 0.7 <= sum(r["facts_correct"] for r in rows) / checked <= 1.0
    assert any(r["mentioned"] for r in rows) and any(r["position"] for r in rows)

    # Every stored number is what the stored answer and facts give when validated again.
    answers = await stored_answers(db, ok_ids)
    names = await brand_names(db, [e.domain for e in entries])
    facts = await fetch_facts(db, [e.domain for e in entries])
    for row in rows:
        answer = answers[row["call_id"]]
        again = validate_answer(answer, names[answer.domain], facts.get(answer.domain),
                                validated_at=datetime.now(UTC))
        assert (row["mentioned"], row["declined"], row["position"], row["sentiment"],
                row["facts_checked"], row["facts_correct"]) == (
            again.mentioned, again.declined, again.position, again.sentiment,
            again.facts_checked, again.facts_correct)

    # Each domain's website was checked once today.
    presence = await db.fetch(
        "SELECT domain, status, title FROM web_presence WHERE checked_on = $1 "
        "AND domain = ANY($2::text[])", today(), [e.domain for e in entries])
    assert sorted((p["domain"], p["status"], p["title"]) for p in presence) == sorted(
        (e.domain, "hosted", e.domain) for e in entries)

    # Replay: the run's raw responses again. No second row, no rewrite, no second message.
    before = {r["call_id"]: r["validated_at"] for r in rows}
    replayed = [record async for record in read_records(settings.kafka.bootstrap,
                                                        [RESPONSES_RAW.name])
                # Other tests' records share the topic, poison ones among them: this run's
                # domains only.
                if record.key in {e.domain.encode() for e in entries}
                and RawResponse.from_json(record.value).run_id == run_id]
    broker = create_broker(settings)
    async with broker:
        await broker.connect()
        sent = [await broker.publish(r.value, RESPONSES_RAW.name, key=r.key) for r in replayed]
    await wait_committed(settings.kafka.bootstrap, GROUP, sent, timeout_s=60)
    after = await db.fetch("SELECT call_id, validated_at FROM validations WHERE run_id = $1",
                           run_id)
    assert {r["call_id"]: r["validated_at"] for r in after} == before
    again_messages = await validated_messages(settings, run_id)
    assert Counter(m.call_id for m in again_messages) == Counter(ok_ids)


async def test_bad_records_are_dead_lettered_and_later_ones_validated(
        validating: Settings, db: asyncpg.Connection) -> None:
    settings = validating
    entry = brand_entries(1, offset=53)[0]
    key = entry.domain.encode()  # the run's answers follow on the same partition
    marker = uuid.uuid4().hex
    unplanned = RawResponse(
        call_id=uuid.uuid4(), run_id=uuid.uuid4(), domain=entry.domain, provider="openai",
        model="gpt-4o-mini", prompt_id="describe", prompt_version=1, sample=0, status="ok",
        text="An answer to a call nobody made.", responded_at=datetime.now(UTC))
    broker = create_broker(settings)
    async with broker:
        await broker.connect()
        await broker.publish(b"{not json", RESPONSES_RAW.name, key=key,
                             headers={"x-test-marker": marker})
        await broker.publish(unplanned, RESPONSES_RAW.name, key=key,
                             headers={"x-test-marker": marker})
    run_id = uuid.uuid4()
    await publish_domains(settings, [entry], run_id)
    await run_validated(db, run_id)
    assert await db.fetchval("SELECT count(*) FROM validations WHERE run_id = $1", run_id) > 0
    assert await db.fetchval("SELECT count(*) FROM validations WHERE call_id = $1",
                             unplanned.call_id) == 0

    letters = [letter for letter in await read_dead_letters(settings.kafka.bootstrap,
                                                            RESPONSES_RAW.name)
               if letter.headers.get("x-test-marker") == marker
               and letter.headers["dlt-consumer-group"] == GROUP]
    by_stage = {letter.headers["dlt-stage"]: letter for letter in letters}
    assert len(letters) == len(by_stage) == 2
    assert by_stage["decode"].record.value == b"{not json"
    assert by_stage["decode"].headers["dlt-exception-type"] == "UndecodableRecord"
    assert by_stage["validate"].headers["dlt-exception-type"] == "LookupError"
    assert str(unplanned.call_id) in by_stage["validate"].headers["dlt-exception-message"]
