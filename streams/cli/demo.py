"""``domain-runner demo``: the main job end to end on the local stack — start what is missing,
run every consumer group as its own process, publish the sample brands, follow the run, print
its report, and stop what it started."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from consumers import GROUPS
from producers.projects import publish_project_run
from streams.cli.projects import render_project_report
from streams.cli.report_view import BrandScoreLine, render_report
from streams.cli.sources import render_sources
from streams.config import PROJECT_ROOT, get_settings
from streams.devstack import stack
from streams.kafka.broker import create_broker, create_topics
from streams.projects.spec import load_project_file
from streams.projects.store import apply_project, load_project, project_request
from streams.runs.report import RunReport, run_report
from streams.runtime.migrate import migrate
from streams.runtime.postgres import create_pool
from streams.scoring.store import run_scores, scored_count
from streams.sources import (
    ModeGap,
    NoSources,
    SourcesReport,
    project_gaps,
    sources_report,
    twin_of,
)
from streams.validation.facts import load_facts_file
from streams.visibility.report import NoProjectRun, ProjectReport, project_report

SAMPLE_DOMAINS = PROJECT_ROOT / "streams" / "simulator" / "brands.csv"
SAMPLE_PROJECTS = sorted((PROJECT_ROOT / "examples" / "projects").glob("*.yaml"))


def start_group_process(group: str, log_path: Path,
                        env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``domain-runner run GROUP`` as a child that dies with this process: a demo (or test)
    killed by a timeout must not leave consumer processes behind."""
    log = log_path.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "run", group], stdout=log, stderr=log,
        env=os.environ.copy() if env is None else env, preexec_fn=_die_with_parent,
    )


def _die_with_parent() -> None:
    # Linux only (PR_SET_PDEATHSIG = 1); elsewhere the caller's own cleanup is all there is.
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def _follow(run_id: uuid.UUID, timeout_s: float, console: Console) -> RunReport:
    pool = await create_pool(get_settings(), max_size=2)
    deadline = time.monotonic() + timeout_s
    try:
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("calls answered", total=None)
            while True:
                try:
                    report = await run_report(pool, run_id, with_providers=False)
                except LookupError:
                    report = None
                if report is not None:
                    progress.update(task, total=report.expected_calls or None,
                                    completed=report.answered,
                                    description=f"calls answered ({report.status})")
                    if report.finished:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"run {run_id} not finished after {timeout_s:.0f} s")
                await asyncio.sleep(0.5)
        return await run_report(pool, run_id)
    finally:
        await pool.close()


async def _brand_scores(report: RunReport, *, timeout_s: float) -> list[BrandScoreLine]:
    """The run's brand scores, once scoring has caught up with it (or what it has by then)."""
    pool = await create_pool(get_settings(), max_size=2)
    wanted = report.planned_domains * (len(report.providers) + 1)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if await scored_count(pool, report.run_id) >= wanted:
                break
            await asyncio.sleep(0.5)
        return await run_scores(pool, report.run_id)
    finally:
        await pool.close()


async def _start_projects() -> list[tuple[str, uuid.UUID]]:
    """Apply the sample projects and publish one run of each."""
    settings = get_settings()
    pool = await create_pool(settings, max_size=2)
    started = []
    try:
        broker = create_broker(settings)
        async with broker:
            await broker.connect()
            for path in SAMPLE_PROJECTS:
                spec = load_project_file(path)
                await apply_project(pool, spec, source=str(path.relative_to(PROJECT_ROOT)))
                project = await load_project(pool, spec.name)
                run_id = uuid.uuid4()
                await publish_project_run(
                    broker, project_request(project), run_id=run_id,
                    providers=spec.providers, samples=spec.samples,
                    cost_cap_usd=spec.cost_cap_usd, modes=spec.modes)
                started.append((spec.name, run_id))
    finally:
        await pool.close()
    return started


async def _sources_reports(runs: list[tuple[str, uuid.UUID]], timeout_s: float,
                           ) -> list[tuple[str, SourcesReport, list[ModeGap]]]:
    """Each project's retrieval twin, once its answers are read for sources and scored: the top
    cited domains and memory vs retrieval."""
    pool = await create_pool(get_settings(), max_size=2)
    deadline = time.monotonic() + timeout_s
    found = []
    try:
        for name, run_id in runs:
            _, retrieval_run = await twin_of(pool, run_id)
            if retrieval_run is None:
                continue
            while True:
                try:
                    await project_report(pool, name, retrieval_run)
                    report = await sources_report(pool, retrieval_run)
                    if report.answers >= await pool.fetchval(
                            """SELECT count(*) FROM responses
                               WHERE run_id = $1 AND status = 'ok'""", retrieval_run):
                        break
                except (NoProjectRun, NoSources):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the sources of run {retrieval_run} of {name} not read "
                                       f"after {timeout_s:.0f} s")
                await asyncio.sleep(0.5)
            found.append((name, report, await project_gaps(pool, retrieval_run)))
    finally:
        await pool.close()
    return found


async def _project_reports(runs: list[tuple[str, uuid.UUID]],
                           timeout_s: float) -> list[ProjectReport]:
    pool = await create_pool(get_settings(), max_size=2)
    deadline = time.monotonic() + timeout_s
    reports = []
    try:
        for name, run_id in runs:
            while True:
                try:
                    reports.append(await project_report(pool, name, run_id))
                    break
                except NoProjectRun:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"project run {run_id} of {name} not reported "
                                           f"after {timeout_s:.0f} s") from None
                    await asyncio.sleep(0.5)
    finally:
        await pool.close()
    return reports


async def _html_report(run_id: uuid.UUID) -> str:
    from streams.api.pages import run_page

    async with await create_pool(get_settings(), max_size=2) as pool:
        return await run_page(pool, run_id, standalone=True)


async def _read_key() -> str:
    from streams.api import create_key

    async with await create_pool(get_settings(), max_size=1) as pool:
        key, _ = await create_key(pool, name="demo --serve", scope="read")
    return key


def _serve(port: int, console: Console) -> None:
    """The API and dashboard on the demo's data until Ctrl-C."""
    import uvicorn

    from streams.api import create_app

    key = asyncio.run(_read_key())
    console.print(f"dashboard and API: [bold]http://127.0.0.1:{port}/[/] (Ctrl-C stops "
                  "everything)\nsign in with this read key, shown once and stored only as a "
                  "hash:", highlight=False)
    print(key, flush=True)
    uvicorn.run(create_app(get_settings()), host="127.0.0.1", port=port, log_level="warning",
                proxy_headers=False)


def run_demo(*, limit: int | None, samples: int, timeout_s: float,
             serve_port: int | None = None) -> int:
    console = Console()
    started_stack = not all(s.running for s in stack.stack_status().values())
    with ExitStack() as cleanup:
        if started_stack:
            console.print("starting the local stack (broker, PostgreSQL, Redis, simulator)…")
            stack.stack_up(with_simulator=True)
            cleanup.callback(stack.stack_down)
        settings = get_settings()
        asyncio.run(migrate(settings.postgres.dsn.get_secret_value()))
        asyncio.run(load_facts_file(settings))  # reality-validation checks answers against them
        asyncio.run(create_topics(settings))
        log_dir = stack.STACK_DIR / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        for group in GROUPS:
            process = start_group_process(group, log_dir / f"{group}.log")
            cleanup.callback(_stop, process)
        console.print(f"consumer groups running: {', '.join(GROUPS)} (logs in {log_dir})")

        lines = SAMPLE_DOMAINS.read_text().splitlines()
        source = "\n".join(lines[: limit + 1] if limit else lines)
        run_id = uuid.uuid4()
        published = subprocess.run(
            [sys.executable, "-m", "streams.cli", "publish", "-", "--run-id", str(run_id),
             "--samples", str(samples)],
            input=source.encode(), check=False,
        )
        if published.returncode != 0:
            console.print("[red]publishing failed[/]")
            return 1
        projects = asyncio.run(_start_projects())
        console.print(f"published {len(projects)} project runs: "
                      f"{', '.join(name for name, _ in projects)}")
        report = asyncio.run(_follow(run_id, timeout_s, console))
        render_report(report, console, asyncio.run(_brand_scores(report, timeout_s=120.0)))
        project_reports = asyncio.run(_project_reports(projects, timeout_s))
        for project in project_reports:
            render_project_report(project, console)
        for name, report_of_sources, gaps in asyncio.run(_sources_reports(projects, timeout_s)):
            console.print(f"[bold]project {name}[/], asked with web search:", highlight=False)
            names = next((p.names for p in project_reports if p.project == name), None)
            own = next((p.scope()[0].brand for p in project_reports
                        if p.project == name and p.scope()), None)
            # The project's own brand per provider; `sources report RUN` lists every brand.
            render_sources(console, report_of_sources, gaps, names=names,
                           brands={own} if own else None)
        html = stack.STACK_DIR / "reports" / f"{run_id}.html"
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(asyncio.run(_html_report(run_id)), encoding="utf-8")
        console.print(f"the run's report with its plots: {html}", highlight=False)
        complete = all(p.status == "complete" for p in project_reports)
        if serve_port is not None:
            _serve(serve_port, console)
        return 0 if report.status == "complete" and complete else 1
