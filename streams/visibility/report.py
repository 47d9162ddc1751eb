"""A project run's visibility report, read from ``visibility_scores`` (or computed from the stored
readings, the same function, when the run ended with no response left to trigger scoring: its
last call was dead-lettered)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts import ALL, Metric, MetricChange, Mode, Precision, VisibilityScore
from streams.errors import DomainRunnerError
from streams.visibility.extraction import EXTRACTOR_VERSION
from streams.visibility.metrics import (
    METRICS_VERSION,
    half_width,
    next_round,
    score_project_run,
)
from streams.visibility.store import (
    Discovered,
    discovered,
    load_readings,
    neighbour_run,
    planned_per_cell,
    project_runs,
)


class NoProjectRun(DomainRunnerError, LookupError):
    """The project has no finished run to report."""


@dataclass(frozen=True)
class Sampling:
    """What a provider's cells cost and how precise they came out (adaptive sampling's report).
    Precision is 1/h², h the widest visibility half-interval of a cell (as a share): it grows
    in proportion to the samples, so cost per unit of precision compares providers' prices of
    the same certainty."""

    provider: str
    cells: int
    samples_per_cell: float
    cost_usd: float
    widest_half_width: float

    @property
    def cost_per_cell_usd(self) -> float:
        return self.cost_usd / self.cells if self.cells else 0.0

    @property
    def usd_per_unit_precision(self) -> float:
        return self.cost_per_cell_usd * self.widest_half_width ** 2


@dataclass(frozen=True)
class ProjectReport:
    project: str
    run_id: UUID
    status: str
    answers: int
    scores: list[VisibilityScore]
    discovered: list[Discovered]
    sampling: list[Sampling]
    precision: Precision | None
    names: dict[str, str]  # tracked domain -> the brand's name

    def scope(self, provider: str = ALL, topic: str = ALL,
              prompt_id: str = ALL) -> list[VisibilityScore]:
        """The brands' scores in one scope, own brand first, then by share of voice."""
        rows = [s for s in self.scores
                if (s.provider, s.topic, s.prompt_id) == (provider, topic, prompt_id)]
        return sorted(rows, key=lambda s: (not s.own, -(s.share_of_voice.value or 0.0),
                                           s.brand))

    @property
    def providers(self) -> list[str]:
        return sorted({s.provider for s in self.scores} - {ALL})

    @property
    def topics(self) -> list[str]:
        return sorted({s.topic for s in self.scores} - {ALL})

    def changes(self) -> list[tuple[VisibilityScore, MetricChange]]:
        """Every comparison with the previous run over all providers and prompts, one per brand
        and metric (each cell and roll-up has its own, in the scores)."""
        return [(s, c) for s in self.scope() for c in s.changes]


def _score(row: asyncpg.Record) -> VisibilityScore:
    metrics = {name: Metric(**value) for name, value in json.loads(row["metrics"]).items()}
    return VisibilityScore(
        run_id=row["run_id"], project=row["project"], brand=row["brand"], own=row["own"],
        provider=row["provider"], topic=row["topic"], prompt_id=row["prompt_id"],
        extractor_version=row["extractor_version"], metrics_version=row["metrics_version"],
        run_created_at=row["run_created_at"], samples=row["samples"],
        rank_distribution=json.loads(row["rank_distribution"]),
        previous_run_id=row["previous_run_id"],
        changes=tuple(MetricChange(**c) for c in json.loads(row["changes"])),
        computed_at=row["computed_at"], **metrics)


async def project_report(pool: asyncpg.Pool, project: str, run_id: UUID | None = None, *,
                         mode: Mode = "memory") -> ProjectReport:
    """The report of ``run_id``, or of the project's latest finished run in ``mode``."""
    if run_id is None:
        run_id = await pool.fetchval(
            """SELECT run_id FROM runs WHERE project = $1 AND status <> 'running'
                 AND mode = $2 ORDER BY created_at DESC LIMIT 1""", project, mode)
        if run_id is None:
            raise NoProjectRun(f"project {project!r} has no finished run yet "
                               f"(domain-runner project run {project})")
    status = await pool.fetchval("SELECT status FROM runs WHERE run_id = $1 AND project = $2",
                                 run_id, project)
    if status is None:
        raise NoProjectRun(f"run {run_id} is not a run of project {project!r}")
    async with pool.acquire() as connection:
        readings = await load_readings(connection, run_id, EXTRACTOR_VERSION)
        if readings is None:
            raise NoProjectRun(f"run {run_id} is not finished, or not every answer is read "
                               f"yet (status {status})")
        if rounds := next_round(readings, await planned_per_cell(connection, run_id)):
            raise NoProjectRun(f"run {run_id} is still sampling: {len(rounds)} cells need "
                               f"another round for the precision asked")
    rows = await pool.fetch(
        """SELECT * FROM visibility_scores WHERE run_id = $1 AND extractor_version = $2
           AND metrics_version = $3""", run_id, EXTRACTOR_VERSION, METRICS_VERSION)
    scores = [_score(row) for row in rows]
    if not scores:
        async with pool.acquire() as connection:
            previous = await neighbour_run(connection, project, readings.run_created_at,
                                           run_id, earlier=True,
                                           extractor_version=EXTRACTOR_VERSION)
            scores = score_project_run(readings, previous,
                                       computed_at=datetime.now(UTC))
    answers, found = await discovered(pool, run_id, EXTRACTOR_VERSION)
    return ProjectReport(project=project, run_id=run_id, status=status, answers=answers,
                         scores=scores, discovered=found,
                         sampling=await _sampling(pool, run_id, scores),
                         precision=readings.precision,
                         names={b.domain: b.name for b in
                                (await project_runs(pool, [run_id]))[run_id].brands})


async def _sampling(pool: asyncpg.Pool, run_id: UUID,
                    scores: list[VisibilityScore]) -> list[Sampling]:
    rows = await pool.fetch(
        """SELECT c.provider, count(DISTINCT c.prompt_id) AS cells, count(*) AS calls,
                  coalesce(sum(r.cost_usd), 0)::float8 AS cost
           FROM calls c LEFT JOIN responses r ON r.call_id = c.call_id
           WHERE c.run_id = $1 GROUP BY c.provider ORDER BY c.provider""", run_id)
    widest: dict[str, float] = {}
    for score in scores:
        if score.provider != ALL and score.prompt_id != ALL:
            widest[score.provider] = max(widest.get(score.provider, 0.0),
                                         half_width(score.visibility))
    return [Sampling(provider=row["provider"], cells=row["cells"],
                     samples_per_cell=row["calls"] / row["cells"], cost_usd=row["cost"],
                     widest_half_width=widest.get(row["provider"], 0.5)) for row in rows]


def report_as_json(report: ProjectReport) -> dict[str, Any]:
    """The report as JSON values (``project report --json``, the API)."""
    return {
        "project": report.project, "run_id": str(report.run_id), "status": report.status,
        "answers": report.answers,
        "scores": [s.model_dump(mode="json") for s in report.scores],
        "discovered": [{"name": d.name, "answers": d.answers} for d in report.discovered],
        "precision": report.precision.model_dump() if report.precision else None,
        "sampling": [{"provider": s.provider, "cells": s.cells,
                      "samples_per_cell": s.samples_per_cell, "cost_usd": s.cost_usd,
                      "cost_per_cell_usd": s.cost_per_cell_usd,
                      "widest_half_width": s.widest_half_width,
                      "usd_per_unit_precision": s.usd_per_unit_precision}
                     for s in report.sampling],
    }
