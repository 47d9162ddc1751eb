"""reality-validation end to end on the real stack: capture, provider-calls and
reality-validation in this process against the simulator, websites on loopback. Each stored
verdict is compared with the simulator's truth: whether that sample knew the brand and which
facts it stated wrongly (``AnswerEngine``), against the brand file the facts are loaded from."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from contracts import RESPONSES_RAW, RESPONSES_VALIDATED, RawResponse, ResponseValidated
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.kafka.topic_reader import read_records
from streams.ops.redrive import read_dead_letters
from streams.simulator import AnswerEngine, Brand, SimulatorConfig, load_brands, true_rates
from streams.validation import VALIDATOR_VERSION
from streams.validation.facts import load_facts_file
from streams.validation.presence_store import today
from tests.support.groups import brand_entries, publish_domains, running_groups
from tests.support.kafka import wait_committed, wait_until
from tests.support.websites import serve_sites

pytestmark = pytest.mark.stack

GROUP = "reality-validation"
# Set for this test's brands, so that wrong facts are many (a checker that passes every fact
# fails) and the right ones still most.
FACT_ERROR_RATE = 0.3
BRANDS = {brand.domain: brand for brand in load_brands()}  # the facts file load_facts_file loads
ENGINE = AnswerEngine(list(BRANDS.values()))


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


async def configure(url: str, patch: dict[str, Any] | None = None) -> SimulatorConfig:
    """The simulator's config, patched first if ``patch`` is given, through its admin API as
    an operator would."""
    async with httpx.AsyncClient() as client:
        if patch is None:
            response = await client.get(f"{url}/_sim/config", timeout=5)
        else:
            response = await client.post(f"{url}/_sim/config", json=patch, timeout=5)
        response.raise_for_status()
        return SimulatorConfig.model_validate(response.json())


def true_verdict(row: asyncpg.Record, config: SimulatorConfig
                 ) -> tuple[bool, dict[str, bool]]:
    """Whether the simulator's answer knew the brand, and for each fact it stated whether the
    fact is true, from the simulator's own draws: the model it answered as (the version it
    reported), keyed by the call's run and sample, at the rates it was configured with."""
    brand: Brand = BRANDS[row["domain"]]
    version = row["model_version"]
    assert version is not None, row
    knowledge, errors = true_rates(row["provider"], row["model"], config, domain=brand.domain,
                                   now=time.time())
    draw = f"{row['run_id']}/{row['sample']}"
    known = ENGINE.knows(version, brand.domain, draw, knowledge)
    if not known or row["prompt_id"] == "recommend":
        return known, {}  # a list, or "I don't know": no facts stated
    stated = ENGINE.stated_facts(brand, version, draw, errors)
    return known, {
        "founded": stated.founded == brand.founded,
        "headquarters_country": stated.headquarters_country == brand.headquarters_country,
        "industry": stated.industry == brand.industry,
    }


async def validated_messages(settings: Settings, run_id: uuid.UUID) -> list[ResponseValidated]:
    messages = []
    async for record in read_records(settings.kafka.bootstrap, [RESPONSES_VALIDATED.name]):
        verdict = ResponseValidated.from_json(record.value)
        if verdict.run_id == run_id:
            assert record.key == verdict.domain.encode()
            messages.append(verdict)
    return messages


async def test_every_answer_validated_once_and_replay_adds_nothing(
        validating: Settings, db: asyncpg.Connection, simulator: Any) -> None:
    settings = validating
    run_id = uuid.uuid4()
    entries = brand_entries(3, offset=50)  # brands 50-54: no other test publishes them
    earlier = (await configure(simulator.url)).brand_fact_error_rates
    config = await configure(simulator.url, {"brand_fact_error_rates": {
        **earlier, **{e.domain: {"*": FACT_ERROR_RATE} for e in entries}}})
    try:
        await publish_domains(settings, entries, run_id)
        await run_validated(db, run_id)
    finally:
        await configure(simulator.url, {"brand_fact_error_rates": earlier})

    ok_ids = {r["call_id"] for r in await db.fetch(
        "SELECT call_id FROM responses WHERE run_id = $1 AND status = 'ok'", run_id)}
    rows = await db.fetch("SELECT * FROM validations WHERE run_id = $1", run_id)
    assert len(ok_ids) > 0.9 * 3 * 8 * 3
    assert Counter(r["call_id"] for r in rows) == Counter(ok_ids)  # one each, none for failures
    assert {r["validator_version"] for r in rows} == {VALIDATOR_VERSION}
    messages = await validated_messages(settings, run_id)
    assert Counter(m.call_id for m in messages) == Counter(ok_ids)

    # Each verdict is the simulator's truth: a known brand is mentioned (an unknown one declined
    # unless the answer is a list), and exactly the facts it stated wrongly are flagged.
    wrong = 0
    for row in rows:
        known, facts = true_verdict(row, config)
        recommend = row["prompt_id"] == "recommend"
        assert row["mentioned"] == known, dict(row)
        assert row["declined"] == (not known and not recommend), dict(row)
        assert (row["position"] is not None) == (known and recommend), dict(row)
        judged = {c["fact"]: c["correct"] for c in json.loads(row["fact_checks"])
                  if c["correct"] is not None}
        assert judged == facts, dict(row)
        assert (row["facts_checked"], row["facts_correct"]) == (
            len(facts), sum(facts.values())), dict(row)
        wrong += len(facts) - sum(facts.values())
    assert wrong > 0  # wrong facts were stated, and were flagged
    assert any(r["mentioned"] for r in rows) and any(r["position"] for r in rows)

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
