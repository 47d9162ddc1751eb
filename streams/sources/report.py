"""A run's sources report (what its retrieval answers cite, and the searches their engines ran)
and a project's memory-vs-retrieval comparison, read from the stored rows."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from contracts import ALL, Metric, VisibilityScore
from streams.errors import DomainRunnerError
from streams.providers.citations import EXTRACTOR_VERSION
from streams.runtime.postgres import Db
from streams.sources.metrics import (
    SOURCES_METRICS_VERSION,
    AnswerSources,
    ModeGap,
    ScopeSources,
    SourceShare,
    mode_gap,
    run_sources,
)
from streams.visibility.report import NoProjectRun, project_report


class NoSources(DomainRunnerError, LookupError):
    """The run is not a retrieval run, or none of its answers has been read for sources yet."""


@dataclass(frozen=True)
class SourcesReport:
    run_id: UUID
    project: str | None
    extractor_version: int
    answers: int
    refused: dict[str, str]
    scopes: list[ScopeSources]
    queries: list[tuple[str, int]]  # the most frequent searches, with their counts

    def scope(self, provider: str = ALL, prompt_id: str = ALL) -> ScopeSources | None:
        return next((s for s in self.scopes
                     if s.provider == provider and s.prompt_id == prompt_id), None)


async def sources_report(db: Db, run_id: UUID,
                         version: int = EXTRACTOR_VERSION) -> SourcesReport:
    run = await db.fetchrow("SELECT mode, project, refused::text FROM runs WHERE run_id = $1",
                            run_id)
    if run is None:
        raise NoSources(f"no run {run_id}")
    if run["mode"] != "retrieval":
        raise NoSources(f"run {run_id} was asked from memory: it has no sources")
    read = await db.fetch(
        """SELECT e.call_id, r.provider, r.prompt_id FROM source_extractions e
           JOIN responses r USING (call_id)
           WHERE e.run_id = $1 AND e.extractor_version = $2""", run_id, version)
    if not read:
        raise NoSources(f"no answer of run {run_id} has been read for sources "
                        f"(extractor version {version})")
    cited: dict[UUID, list[tuple[str, str]]] = defaultdict(list)
    retrieved: Counter[UUID] = Counter()
    for row in await db.fetch(
            """SELECT call_id, domain, source_class, cited FROM citations
               WHERE run_id = $1 AND extractor_version = $2 ORDER BY call_id, ordinal""",
            run_id, version):
        if row["cited"]:
            cited[row["call_id"]].append((row["domain"], row["source_class"]))
        else:
            retrieved[row["call_id"]] += 1
    answers = [AnswerSources(call_id=row["call_id"], provider=row["provider"],
                             prompt_id=row["prompt_id"], cited=tuple(cited[row["call_id"]]),
                             retrieved_only=retrieved[row["call_id"]]) for row in read]
    queries = await db.fetch(
        """SELECT query, count(*) AS n FROM search_queries
           WHERE run_id = $1 AND extractor_version = $2
           GROUP BY query ORDER BY count(*) DESC, query LIMIT 10""", run_id, version)
    return SourcesReport(run_id=run_id, project=run["project"], extractor_version=version,
                         answers=len(answers), refused=json.loads(run["refused"]),
                         scopes=run_sources(answers),
                         queries=[(row["query"], row["n"]) for row in queries])


def mode_gaps(memory: list[VisibilityScore], retrieval: list[VisibilityScore]) -> list[ModeGap]:
    """Per provider (and over all) and tracked brand: visibility and share of voice from
    memory vs with search, for the providers asked in both modes."""
    def whole(scores: list[VisibilityScore]) -> dict[tuple[str, str], VisibilityScore]:
        return {(s.provider, s.brand): s for s in scores
                if s.topic == ALL and s.prompt_id == ALL}

    before, after = whole(memory), whole(retrieval)
    providers = {provider for provider, _ in after if provider != ALL}
    gaps = []
    for key in sorted(before.keys() & after.keys(), key=lambda k: (k[0] == ALL, k)):
        if key[0] == ALL and not providers >= {p for p, _ in before if p != ALL}:
            continue  # "all" over different provider sets would compare unlike things
        for metric in ("visibility", "share_of_voice"):
            gaps.append(mode_gap(key[0], key[1], metric, getattr(before[key], metric),
                                 getattr(after[key], metric)))
    return gaps


async def twin_of(db: Db, run_id: UUID) -> tuple[UUID | None, UUID | None]:
    """(memory run, retrieval run) of the pair ``run_id`` belongs to."""
    row = await db.fetchrow("SELECT mode, twin_run_id FROM runs WHERE run_id = $1", run_id)
    if row is None:
        return None, None
    if row["mode"] == "memory":
        return run_id, row["twin_run_id"]
    return row["twin_run_id"], run_id


async def project_gaps(db: asyncpg.Pool, run_id: UUID) -> list[ModeGap]:
    """Memory vs retrieval for the pair of project runs ``run_id`` belongs to (empty without a
    twin, or while either is not reported)."""
    memory_run, retrieval_run = await twin_of(db, run_id)
    project = await db.fetchval("SELECT project FROM runs WHERE run_id = $1", run_id)
    if memory_run is None or retrieval_run is None or project is None:
        return []
    try:
        memory = await project_report(db, project, memory_run)
        retrieval = await project_report(db, project, retrieval_run)
    except NoProjectRun:
        return []
    return mode_gaps(memory.scores, retrieval.scores)


def _metric(metric: Metric) -> dict[str, Any]:
    return metric.model_dump(exclude={"sd"})


def sources_as_json(report: SourcesReport, gaps: list[ModeGap], *,
                    top: int = 20) -> dict[str, Any]:
    def shares(items: tuple[SourceShare, ...]) -> list[dict[str, Any]]:
        return [{"key": s.key, "class": s.source_class, "citations": s.citations,
                 "citation_share": _metric(s.share), "citation_rate": _metric(s.rate)}
                for s in items[:top]]

    return {
        "run_id": str(report.run_id), "project": report.project,
        "extractor_version": report.extractor_version,
        "metrics_version": SOURCES_METRICS_VERSION, "answers": report.answers,
        "not_asked_with_search": report.refused,
        "searches": [{"query": q, "count": n} for q, n in report.queries],
        "scopes": [{"provider": s.provider, "prompt_id": s.prompt_id, "answers": s.answers,
                    "citations": s.citations, "retrieved_only": s.retrieved_only,
                    "own_site_rate": _metric(s.own_rate), "domains": shares(s.domains),
                    "classes": shares(s.classes)} for s in report.scopes],
        "memory_vs_retrieval": [
            {"provider": g.provider, "brand": g.brand, "metric": g.metric,
             "memory": _metric(g.memory), "retrieval": _metric(g.retrieval),
             "difference": g.difference, "low": g.low, "high": g.high, "p_value": g.p_value,
             "significant": g.significant} for g in gaps],
    }
