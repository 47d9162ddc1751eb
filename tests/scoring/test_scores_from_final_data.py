"""A domain is scored only once every one of its calls is final: a call held in retry keeps its
domain unscored (no score on fewer samples), and when it ends the domain gets one score per
provider."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from contracts import RESPONSES_EMBEDDED, RESPONSES_VALIDATED
from streams.config import Settings
from tests.support.groups import brand_entries, publish_domains, running_groups
from tests.support.kafka import wait_until
from tests.truth.scenario import caught_up

pytestmark = pytest.mark.stack

PROVIDERS = ["openai", "anthropic"]
GROUPS = ["capture", "provider-calls", "reality-validation", "embedding", "scoring"]


async def test_a_call_in_retry_holds_the_score_until_it_ends(
    migrated: Settings, simulator: Any
) -> None:
    settings = Settings(providers=PROVIDERS, retry={"base_s": 1.0},
                        provider={"max_attempts": 8}, breaker={"reset_s": 1.0},
                        web_presence_checks=False, reconcile={"grace_s": 30})
    dsn = settings.postgres.dsn.get_secret_value()
    run_id = uuid.uuid4()
    entry = brand_entries(1, offset=214)[0]
    connection = await asyncpg.connect(dsn)

    async def count(sql: str) -> int:
        return int(await connection.fetchval(sql, run_id, entry.domain))

    async def retrying() -> int:
        # In retry: failed at least once and not final yet (between attempts a call is
        # 'retrying', then 'pending' again once the reconciler re-publishes it).
        return await count("""SELECT count(*) FROM calls WHERE run_id = $1 AND domain = $2
                              AND provider = 'openai' AND attempts >= 1
                              AND status IN ('pending', 'retrying', 'answered')""")

    async def scores() -> int:
        return await count("""SELECT count(*) FROM brand_scores
                              WHERE run_id = $1 AND domain = $2 AND provider <> 'all'""")

    async def anthropic_validated() -> bool:
        return await count("""SELECT count(*) FROM validations v JOIN responses r USING (call_id)
                              WHERE r.run_id = $1 AND r.domain = $2
                                AND r.provider = 'anthropic'""") == 3

    # OpenAI is down until the test has seen the domain held; then it answers again.
    simulator.configure({"outage_for_s": {"openai": 600}})
    try:
        async with running_groups(GROUPS, settings):
            await publish_domains(settings, [entry], run_id, providers=PROVIDERS)

            async def held_back() -> bool:
                # Anthropic's answers all stored and validated while OpenAI's calls retry: the
                # old rule (no call 'pending') scored the domain at such a moment, on half its
                # samples.
                return await anthropic_validated() and await retrying() == 3

            await wait_until(held_back, timeout_s=120,
                             what="anthropic validated while openai retries")
            # Scoring has looked at every event so far (it judged the domain then).
            await caught_up(settings.kafka.bootstrap, "scoring",
                            [RESPONSES_VALIDATED.name, RESPONSES_EMBEDDED.name], timeout_s=120)
            held = [await retrying(), await scores()]
            simulator.configure({"outage_for_s": {"openai": 0}})
            await wait_until(lambda: _zero_retrying(retrying), timeout_s=120,
                             what="openai's calls to end their retries")

            async def scored() -> bool:
                return await scores() == len(PROVIDERS)

            await wait_until(scored, timeout_s=120, what="one score per provider")
            retried = await count("""SELECT count(*) FROM calls WHERE run_id = $1
                                     AND domain = $2 AND provider = 'openai' AND status = 'ok'
                                     AND attempts >= 1""")
            final = await connection.fetch(
                """SELECT provider, responses FROM brand_scores
                   WHERE run_id = $1 AND domain = $2 ORDER BY provider""", run_id, entry.domain)
    finally:
        simulator.configure({"outage_for_s": {"openai": 0}})
        await connection.close()
    assert held[0] > 0, "an OpenAI call was in retry at that moment"
    assert retried == 3, "every OpenAI call failed at least once before it was answered"
    assert held[1] == 0, "no score while a call of the domain was not final"
    # Each provider scored on all its answers (3 prompts × 1 sample), not on what had arrived;
    # the cross-provider row on all six.
    assert [(row["provider"], row["responses"]) for row in final] == [
        ("all", 6), ("anthropic", 3), ("openai", 3)]


async def _zero_retrying(retrying: Any) -> bool:
    return int(await retrying()) == 0
