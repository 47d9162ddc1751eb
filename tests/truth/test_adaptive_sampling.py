"""Adaptive sampling on the real stack: a project asking for visibility to ± 20 points samples
each cell in rounds of 5 until every tracked brand's interval is that narrow or the cell has 40
samples, and reports what the precision cost per provider."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from producers.projects import publish_project_run
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.projects import apply_project, load_project, parse_project, project_request
from streams.visibility.metrics import half_width
from streams.visibility.report import NoProjectRun, ProjectReport, project_report
from tests.support.groups import running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack

PROVIDERS = ["openai", "anthropic"]
TARGET, MAXIMUM, ROUND = 0.2, 40, 5
PROJECT_FILE = f"""
name: adaptive-software
brand: {{domain: sap.com, name: SAP}}
competitors:
  - {{domain: oracle.com, name: Oracle}}
  - {{domain: salesforce.com, name: Salesforce}}
prompts:
  - {{id: erp, text: "Which business software would you recommend for a mid-sized company?"}}
samples: {ROUND}
precision: {{visibility: {TARGET}, max_samples: {MAXIMUM}}}
"""


async def test_cells_are_sampled_in_rounds_until_precise_enough(migrated: Settings,
                                                                simulator: Any) -> None:
    settings = Settings(providers=PROVIDERS, web_presence_checks=False, default_rpm=100_000,
                        default_tpm=100_000_000)
    pool = await asyncpg.create_pool(settings.postgres.dsn.get_secret_value(), min_size=1,
                                     max_size=2)
    assert pool is not None
    run_id = uuid.uuid5(uuid.NAMESPACE_URL, "https://domain-runner.test/adaptive")
    try:
        await apply_project(pool, parse_project(PROJECT_FILE, "adaptive.yaml"), source="test")
        project = await load_project(pool, "adaptive-software")
        reports: list[ProjectReport] = []
        async with running_groups(["capture", "provider-calls", "visibility"], settings):
            broker = create_broker(settings)
            async with broker:
                await broker.connect()
                await publish_project_run(broker, project_request(project), run_id=run_id,
                                          providers=PROVIDERS, samples=ROUND)

            async def reported() -> bool:
                try:
                    reports.append(await project_report(pool, "adaptive-software", run_id))
                except NoProjectRun:
                    return False
                return True

            await wait_until(reported, timeout_s=240, what="the adaptive run's report",
                             every_s=0.5)
        report = reports[-1]
        planned = {row["provider"]: row["calls"] for row in await pool.fetch(
            """SELECT provider, count(*) AS calls FROM calls WHERE run_id = $1
               GROUP BY provider""", run_id)}
        status = await pool.fetchval("SELECT status FROM runs WHERE run_id = $1", run_id)
    finally:
        await pool.close()
    assert status == "complete"
    for provider in PROVIDERS:
        cell = [s for s in report.scores if s.provider == provider and s.prompt_id == "erp"]
        widest = max(half_width(s.visibility) for s in cell)
        assert {s.samples for s in cell} == {planned[provider]}
        # Stopped because precise enough, or at the maximum; and never more than a round past
        # the point where it was precise enough.
        assert widest <= TARGET or planned[provider] == MAXIMUM, (provider, widest)
        assert planned[provider] % ROUND == 0 and ROUND <= planned[provider] <= MAXIMUM
    # The first round alone cannot reach ± 20 points (n = 5): every cell took more rounds.
    assert all(calls > ROUND for calls in planned.values()), planned
    sampling = {s.provider: s for s in report.sampling}
    assert sampling.keys() == set(PROVIDERS)
    for provider, line in sampling.items():
        assert line.samples_per_cell == planned[provider]
        assert line.cost_usd > 0 and line.usd_per_unit_precision > 0
    print({p: (s.samples_per_cell, round(s.widest_half_width, 3), s.cost_per_cell_usd)
           for p, s in sampling.items()})
