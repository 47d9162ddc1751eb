"""What each dashboard page shows, read from PostgreSQL and drawn as HTML with inline SVG plots.
The same run page, written to a file, is ``report RUN --html``: one renderer, two outlets."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any
from uuid import UUID

import asyncpg
from jinja2 import Environment, PackageLoader, select_autoescape

from contracts import ALL, InvalidDomain, Metric, normalize_domain
from streams.api.keys import ApiKey
from streams.api.plots import Mark, Point, bars_svg, trend_svg
from streams.api.queries import leaderboard
from streams.errors import DomainRunnerError
from streams.projects.store import list_projects
from streams.runs.report import RunReport, run_report
from streams.scoring import SCORING_VERSION
from streams.scoring.store import run_scores
from streams.sources import ModeGap, NoSources, SourcesReport, project_gaps, sources_report
from streams.visibility import EXTRACTOR_VERSION, METRICS_VERSION
from streams.visibility.report import project_report

# The composite first, then its components, then what is measured beside it.
BRAND_METRICS = ("composite", "mention_rate", "accuracy", "position", "sentiment", "consensus",
                 "drift")
PERCENT_METRICS = {"mention_rate", "accuracy", "consensus", "visibility", "share_of_voice"}
LABELS = {"composite": "composite (0–100)", "mention_rate": "mentioned", "accuracy": "facts right",
          "position": "position", "sentiment": "sentiment", "consensus": "consensus",
          "drift": "drift", "visibility": "visibility", "share_of_voice": "share of voice"}

ENVIRONMENT = Environment(loader=PackageLoader("streams.api", "templates"),
                          autoescape=select_autoescape(default=True), trim_blocks=True,
                          lstrip_blocks=True)


def shown(metric: Metric | dict[str, Any] | None, name: str) -> str:
    """A metric as the CLI prints it: ``41% (33–50)`` or ``72 (65–78)``; "-" when unmeasured."""
    if metric is None:
        return "-"
    m = metric if isinstance(metric, Metric) else Metric(**metric)
    if m.value is None:
        return "-"
    if name in PERCENT_METRICS:
        text = f"{m.value:.0%}"
        interval = (f" ({m.low * 100:.0f}–{m.high * 100:.0f})"
                    if m.low is not None and m.high is not None else "")
    elif name in ("sentiment", "drift"):
        text = f"{m.value:+.2f}"
        interval = (f" ({m.low:+.2f}, {m.high:+.2f})"
                    if m.low is not None and m.high is not None else "")
    else:
        text = f"{m.value:.0f}" if name == "composite" else f"{m.value:.1f}"
        interval = (f" ({m.low:.0f}–{m.high:.0f})" if name == "composite"
                    else f" ({m.low:.1f}–{m.high:.1f})") if (
            m.low is not None and m.high is not None) else ""
    return text + interval


def raw(metric: Metric | None) -> str:
    """The value as stored, for a page's ``data-value`` (a test reads it back); "" unmeasured."""
    return "" if metric is None or metric.value is None else str(metric.value)


ENVIRONMENT.filters["shown"] = shown
ENVIRONMENT.filters["raw"] = raw
ENVIRONMENT.globals["LABELS"] = LABELS


class PageNotFound(DomainRunnerError, LookupError):
    """Nothing stored under the page's address."""


def render(template: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(template).render(versions=versions(), **context)


def run_uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise PageNotFound(f"no run {raw[:60]!r}: a run id is a UUID") from None


def page_domain(raw: str) -> str:
    try:
        return normalize_domain(raw)
    except InvalidDomain as exc:
        raise PageNotFound(f"not a domain: {exc.reason}") from None


def versions() -> str:
    return (f"scoring {SCORING_VERSION} · extractor {EXTRACTOR_VERSION} · "
            f"visibility metrics {METRICS_VERSION}")


def _metrics(raw: str | dict[str, Any]) -> dict[str, Metric]:
    data = json.loads(raw) if isinstance(raw, str) else raw
    return {name: Metric(**value) for name, value in data.items()}


# -- runs ----------------------------------------------------------------------------------------

async def runs_page(pool: asyncpg.Pool, *, viewer: ApiKey | None = None, limit: int = 50) -> str:
    rows = await pool.fetch(
        """SELECT run_id, project, status, providers, samples, expected_calls, succeeded_calls,
                  failed_calls, skipped_calls, dead_lettered_calls, planned_domains,
                  expected_domains, created_at, finished_at
           FROM runs ORDER BY created_at DESC, run_id DESC LIMIT $1""", limit)
    return render("runs.html", title="Runs", runs=[dict(r) for r in rows], viewer=viewer)


@dataclass(frozen=True)
class RunPage:
    report: RunReport
    project: str | None
    brands: list[tuple[str, int, dict[str, Metric]]]
    plot: str
    mode: str = "memory"
    # A retrieval run's sources (None: not read yet), its plot, and memory vs retrieval.
    sources: SourcesReport | None = None
    sources_plot: str = ""
    gaps: tuple[ModeGap, ...] = ()


async def run_page(pool: asyncpg.Pool, run_id: UUID, *, standalone: bool = False,
                   viewer: ApiKey | None = None) -> str:
    """A run: what it found (brands best first, with intervals, and a plot) and what it cost."""
    if not await pool.fetchval("SELECT true FROM runs WHERE run_id = $1", run_id):
        raise PageNotFound(f"no run {run_id}")
    report = await run_report(pool, run_id)
    row = await pool.fetchrow("SELECT project, mode FROM runs WHERE run_id = $1", run_id)
    project, mode = (row["project"], row["mode"]) if row else (None, "memory")
    brands = await run_scores(pool, run_id)
    sources, sources_plot, gaps = None, "", []
    if mode == "retrieval":
        try:
            sources = await sources_report(pool, run_id)
        except NoSources:
            pass
        whole = sources.scope() if sources else None
        if whole is not None and whole.domains:
            top_cited = whole.domains[:15]
            sources_plot = bars_svg(
                [(f"{s.key} ({s.source_class})", s.share.value or 0.0, s.share.low,
                  s.share.high) for s in top_cited],
                title=f"citation share, all providers (top {len(top_cited)}, 95 % CI)",
                x_label="share of citations", plot_id="cited-")
        gaps = [g for g in await project_gaps(pool, run_id) if g.metric == "visibility"]
    top = [b for b in brands if b[2]["composite"].value is not None][:25]
    plot = bars_svg([(domain, m["composite"].value or 0.0, m["composite"].low,
                      m["composite"].high) for domain, _, m in top],
                    title=f"composite score, all providers (top {len(top)}, 95 % CI)",
                    x_label="composite", percent=False, plot_id="run-") if top else ""
    return render("run.html", title=f"Run {run_id}", standalone=standalone, viewer=viewer,
                  page=RunPage(report=report, project=project, brands=brands, plot=plot,
                               mode=mode, sources=sources, sources_plot=sources_plot,
                               gaps=tuple(gaps)),
                  metrics=("composite", "mention_rate", "accuracy", "sentiment"))


# -- brands --------------------------------------------------------------------------------------

async def brand_page(pool: asyncpg.Pool, domain: str, *, viewer: ApiKey | None = None,
                     runs: int = 50) -> str:
    """A brand: its latest scores per provider, and each metric over runs with 95 % bands, news
    events with their correlation verdicts and model-version changes on the time axis."""
    rows = await pool.fetch(
        """SELECT run_id, provider, run_created_at, samples, metrics::text AS metrics,
                  model_versions
           FROM brand_scores WHERE domain = $1 AND scoring_version = $2
             AND run_id IN (SELECT DISTINCT ON (run_created_at) run_id FROM brand_scores
                            WHERE domain = $1 AND scoring_version = $2
                            ORDER BY run_created_at DESC LIMIT $3)
           ORDER BY run_created_at, provider""", domain, SCORING_VERSION, runs)
    if not rows:
        raise PageNotFound(f"no scores for {domain} yet")
    by_provider: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        by_provider[row["provider"]].append(row)
    latest_run = rows[-1]["run_id"]
    latest = [(row["provider"], row["samples"], _metrics(row["metrics"]))
              for row in rows if row["run_id"] == latest_run]
    latest.sort(key=lambda line: (line[0] != ALL, line[0]))
    marks = await _news_marks(pool, domain) + _version_marks(by_provider)
    plots = []
    for name in BRAND_METRICS:
        series = {provider: [Point(r["run_created_at"], m.value, m.low, m.high)
                             for r in provider_rows
                             if (m := _metrics(r["metrics"]).get(name)) is not None
                             and m.value is not None]
                  for provider, provider_rows in by_provider.items() if provider != ALL}
        if any(series.values()):
            plots.append((name, trend_svg(series, title=LABELS[name], y_label=LABELS[name],
                                          marks=marks, percent=name in PERCENT_METRICS,
                                          plot_id=f"{name}-")))
    news = await pool.fetch(
        """SELECT e.headline, e.url, e.published_at, c.provider, c.metric, c.verdict, c.effect,
                  c.effect_low, c.effect_high, c.p_value
           FROM news_events e LEFT JOIN correlations c USING (event_id)
           WHERE e.domain = $1 ORDER BY e.published_at DESC, c.provider LIMIT 100""", domain)
    name = await pool.fetchval("SELECT name FROM facts WHERE domain = $1", domain)
    return render("brand.html", title=name or domain, domain=domain, name=name, viewer=viewer,
                  latest=latest, latest_run=latest_run, runs=len({r["run_id"] for r in rows}),
                  plots=plots, news=[dict(n) for n in news], marks=marks,
                  metrics=BRAND_METRICS)


async def _news_marks(pool: asyncpg.Pool, domain: str) -> list[Mark]:
    rows = await pool.fetch(
        """SELECT e.published_at, e.headline,
                  coalesce(string_agg(DISTINCT c.verdict, '/'), 'not correlated yet') AS verdict
           FROM news_events e LEFT JOIN correlations c USING (event_id)
           WHERE e.domain = $1 GROUP BY e.event_id, e.published_at, e.headline
           ORDER BY e.published_at""", domain)
    return [Mark(row["published_at"], f"{row['headline']} ({row['verdict']})", "event")
            for row in rows]


def _version_marks(by_provider: dict[str, list[asyncpg.Record]]) -> list[Mark]:
    """Where a provider's model versions differ from its previous run's."""
    marks = []
    for provider, rows in sorted(by_provider.items()):
        if provider == ALL:
            continue
        for before, after in pairwise(rows):
            if set(before["model_versions"]) != set(after["model_versions"]):
                marks.append(Mark(after["run_created_at"],
                                  f"{provider}: {', '.join(after['model_versions'])}", "version"))
    return marks


# -- leaderboard ---------------------------------------------------------------------------------

SORTABLE = ("composite", "mention_rate", "accuracy", "sentiment", "samples", "domain")


async def leaderboard_page(pool: asyncpg.Pool, *, industry: str | None, provider: str,
                           sort: str, descending: bool, viewer: ApiKey | None = None,
                           limit: int = 200) -> str:
    # The API's leaderboard, every row, sorted here by the column asked for.
    board = [{**row, "metrics": _metrics(row["metrics"])} for row in
             await leaderboard(pool, industry=industry, provider=provider, limit=None)]

    def key(row: dict[str, Any]) -> Any:
        if sort == "domain":
            return row["domain"]
        if sort == "samples":
            return row["samples"]
        value = row["metrics"][sort].value if sort in row["metrics"] else None
        return float("-inf") if value is None else value

    board.sort(key=lambda r: r["domain"])
    board.sort(key=key, reverse=descending)
    industries = [r["industry"] for r in await pool.fetch(
        "SELECT DISTINCT industry FROM facts WHERE industry IS NOT NULL ORDER BY industry")]
    providers = [r["provider"] for r in await pool.fetch(
        "SELECT DISTINCT provider FROM brand_scores WHERE scoring_version = $1 ORDER BY 1",
        SCORING_VERSION)]
    return render("leaderboard.html", title="Leaderboard", board=board[:limit], viewer=viewer,
                  industry=industry, provider=provider, sort=sort, descending=descending,
                  industries=industries, providers=providers,
                  columns=("composite", "mention_rate", "accuracy", "sentiment"))


# -- projects ------------------------------------------------------------------------------------

async def projects_page(pool: asyncpg.Pool, *, viewer: ApiKey | None = None) -> str:
    return render("projects.html", title="Projects", projects=await list_projects(pool),
                  viewer=viewer)


async def project_page(pool: asyncpg.Pool, name: str, *, viewer: ApiKey | None = None,
                       runs: int = 50) -> str:
    """A project: its latest run's visibility and share of voice per brand (competitors
    compared), and its own brand's trends per provider over runs."""
    report = await project_report(pool, name)
    rows = await pool.fetch(
        """SELECT brand, own, provider, run_created_at, metrics::text AS metrics
           FROM visibility_scores
           WHERE project = $1 AND topic = $2 AND prompt_id = $2 AND extractor_version = $3
             AND metrics_version = $4
             AND run_id IN (SELECT run_id FROM runs WHERE project = $1 AND mode = 'memory'
                            ORDER BY created_at DESC LIMIT $5)
           ORDER BY run_created_at""", name, ALL, EXTRACTOR_VERSION, METRICS_VERSION, runs)
    own = report.scope()[0].brand if report.scope() else ""
    trends = []
    for metric in ("visibility", "share_of_voice"):
        series: dict[str, list[Point]] = defaultdict(list)
        for row in rows:
            if row["brand"] == own and row["provider"] != ALL:
                m = _metrics(row["metrics"])[metric]
                if m.value is not None:
                    series[row["provider"]].append(Point(row["run_created_at"], m.value, m.low,
                                                         m.high))
        if series:
            trends.append((metric, trend_svg(series, title=f"{own}: {LABELS[metric]} by provider",
                                             y_label=LABELS[metric], percent=True,
                                             plot_id=f"{metric}-")))
    everyone = report.scope()
    comparison = bars_svg(
        sorted(((report.names.get(s.brand, s.brand), s.share_of_voice.value or 0.0,
                 s.share_of_voice.low, s.share_of_voice.high) for s in everyone),
               key=lambda bar: -bar[1]),
        title="share of voice, all providers and prompts (95 % CI)", x_label="share of voice",
        plot_id="sov-") if everyone else ""
    return render("project.html", title=f"Project {name}", report=report, own=own, viewer=viewer,
                  everyone=everyone, trends=trends, comparison=comparison,
                  per_provider={p: report.scope(provider=p) for p in report.providers},
                  metrics=("visibility", "share_of_voice", "position", "sentiment"),
                  runs=len({r["run_created_at"] for r in rows}))


def iso(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


ENVIRONMENT.filters["when"] = iso
