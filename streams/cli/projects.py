"""Project commands: ``project apply FILE``, ``project list``, ``project show NAME``,
``project run NAME``, ``project report NAME``."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contracts import Metric
from streams.cli.report_view import percent
from streams.config import get_settings

if TYPE_CHECKING:  # imported where used: `run GROUP` loads this module, not the statistics
    from streams.visibility.report import ProjectReport

console = Console(stderr=True)


def mean(metric: Metric, digits: int = 1, signed: bool = False) -> str:
    """``3.4 ±1.0``: a mean and its half-interval (Student t intervals are symmetric; a bound
    clipped to the scale shows the wider side)."""
    if metric.value is None:
        return "-"
    sign = "+" if signed else ""
    if metric.low is None or metric.high is None:
        return f"{metric.value:{sign}.{digits}f}"
    half = max(metric.value - metric.low, metric.high - metric.value)
    return f"{metric.value:{sign}.{digits}f} ±{half:.{digits}f}"


def render_project_report(report: ProjectReport, out: Console, *, discovered: int = 5) -> None:
    """The brands of the whole run (every provider and prompt pooled), own brand first."""
    out.print(f"[bold]project {report.project}[/]: run {report.run_id} ({report.status}, "
              f"{report.answers} answers)", highlight=False, soft_wrap=True)
    # Simple box: the table fits 80 columns, as a terminal or a log shows it.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("brand", no_wrap=True)
    table.add_column("visibility", justify="right", no_wrap=True)
    table.add_column("share of voice", justify="right", no_wrap=True)
    table.add_column("avg position", justify="right", no_wrap=True)
    table.add_column("sentiment", justify="right", no_wrap=True)
    for score in report.scope():
        name = report.names.get(score.brand, score.brand)
        table.add_row(f"{name}{' *' if score.own else ''}", percent(score.visibility),
                      percent(score.share_of_voice), mean(score.position),
                      mean(score.sentiment, 2, signed=True))
    out.print(table)
    own = next((s for s in report.scope() if s.own), None)
    if own is not None and report.providers:
        by_provider = ", ".join(
            f"{provider} {percent(s.visibility)}" for provider in report.providers
            for s in report.scope(provider=provider) if s.own)
        out.print(f"{report.names.get(own.brand, own.brand)} visibility by provider: "
                  f"{by_provider}", soft_wrap=True,
                  highlight=False)
    if report.discovered:
        names = ", ".join(f"{d.name} ({d.answers})" for d in report.discovered[:discovered])
        out.print(f"untracked brands the answers ranked (answers naming them): {names}",
                  soft_wrap=True, highlight=False)
    if report.precision is not None:
        out.print(f"adaptive sampling to ± {report.precision.visibility_half_width:.0%} "
                  f"(at most {report.precision.max_samples} per cell): " + "; ".join(
                      f"{s.provider} {s.samples_per_cell:.1f} samples/cell, widest ± "
                      f"{s.widest_half_width:.1%}, ${s.cost_per_cell_usd:.4f}/cell, "
                      f"${s.usd_per_unit_precision:.6f} per unit of precision (1/h²)"
                      for s in report.sampling), soft_wrap=True, highlight=False)
    compared = report.changes()
    if compared:
        flagged = [(s, c) for s, c in compared if c.significant]
        # One test per brand and metric at α = 0.05: a few flags come by chance alone.
        out.print(f"changes since the previous run (all providers): {len(flagged)} of "
                  f"{len(compared)} comparisons significant at α = 0.05 (about "
                  f"{0.05 * len(compared):.1f} expected by chance)", highlight=False,
                  soft_wrap=True)
        for score, change in flagged:
            out.print(f"  {report.names.get(score.brand, score.brand)} "
                      f"{change.metric.replace('_', ' ')} {change.previous:.2f} → "
                      f"{change.current:.2f} (p = {change.p_value:.3g})", highlight=False,
                      soft_wrap=True)
    out.print("95 % intervals in brackets; * the project's own brand; definitions in the "
              "README (Projects and share of voice).", highlight=False, soft_wrap=True)


def _apply(args: argparse.Namespace) -> int:
    from streams.projects.spec import load_project_file
    from streams.projects.store import apply_project
    from streams.runtime.postgres import create_pool

    spec = load_project_file(args.file)

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=2) as pool:
            applied = await apply_project(pool, spec, source=str(args.file))
        state = ("created" if applied.created else "updated" if applied.changed
                 or applied.new_versions else "unchanged")
        versions = ", ".join(f"{prompt} v{version}" for prompt, version in applied.new_versions)
        console.print(f"project {applied.name}: {state}"
                      f"{f'; new prompt versions: {versions}' if versions else ''}",
                      highlight=False, soft_wrap=True)

    asyncio.run(main())
    return 0


def _list(args: argparse.Namespace) -> int:
    from streams.projects.store import list_projects
    from streams.runtime.postgres import create_pool

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=2) as pool:
            projects = await list_projects(pool)
        table = Table()
        for column in ("project", "brand", "competitors", "prompts", "k", "runs", "last run"):
            table.add_column(column, no_wrap=True)
        for p in projects:
            table.add_row(p.spec.name, p.spec.brand.domain, str(len(p.spec.competitors)),
                          str(len(p.spec.prompts)), str(p.spec.samples), str(p.runs),
                          f"{p.last_run_at:%Y-%m-%d %H:%M}" if p.last_run_at else "-")
        Console().print(table)

    asyncio.run(main())
    return 0


def _show(args: argparse.Namespace) -> int:
    from streams.projects.store import load_project
    from streams.runtime.postgres import create_pool

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=2) as pool:
            project = await load_project(pool, args.name)
        if args.json:
            print(json.dumps({"spec": project.spec.model_dump(mode="json"),
                              "versions": project.versions, "runs": project.runs,
                              "source": project.source}, default=str))
            return
        out = Console()
        spec = project.spec
        out.print(f"project {spec.name} (from {escape(project.source)}, applied "
                  f"{project.applied_at:%Y-%m-%d %H:%M}, {project.runs} runs)", highlight=False)
        out.print("brands: " + ", ".join(
            f"{b.name} ({b.domain}){' *' if b.domain == spec.brand.domain else ''}"
            for b in spec.brands), highlight=False, soft_wrap=True)
        out.print(f"providers: {', '.join(spec.providers) or 'all'}; k = {spec.samples}"
                  f"{f'; cost cap ${spec.cost_cap_usd:g}' if spec.cost_cap_usd else ''}",
                  highlight=False)
        for prompt in spec.prompts:
            out.print(f"  [{prompt.topic}] {prompt.id} v{project.versions.get(prompt.id, '?')}: "
                      f"{escape(prompt.rendered())}", highlight=False, soft_wrap=True)

    asyncio.run(main())
    return 0


def _run(args: argparse.Namespace) -> int:
    from producers.projects import publish_project_run
    from streams.kafka.broker import create_broker
    from streams.projects.store import load_project, project_request
    from streams.providers.catalog import search_refusal
    from streams.runtime.postgres import create_pool
    from streams.runtime.tracing import configure_tracing
    from streams.visibility.report import NoProjectRun, project_report

    settings = get_settings()

    async def main() -> int:
        async with await create_pool(settings, max_size=2) as pool:
            project = await load_project(pool, args.name)
            providers = list(project.spec.providers) or settings.providers
            unknown = sorted(set(providers) - set(settings.provider_configs))
            if unknown:
                console.print(f"[red]providers not configured here: {', '.join(unknown)}[/]")
                return 2
            run_id = uuid.uuid4()
            configure_tracing("domain-runner-project")
            broker = create_broker(settings)
            async with broker:
                await broker.connect()
                published = await publish_project_run(
                    broker, project_request(project), run_id=run_id,
                    providers=project.spec.providers,
                    samples=args.samples or project.spec.samples,
                    cost_cap_usd=project.spec.cost_cap_usd, modes=project.spec.modes)
            for message in published:
                asked = [p for p in providers
                         if message.mode == "memory" or not search_refusal(p)]
                calls = len(asked) * len(project.spec.prompts) * message.samples
                console.print(f"published {message.mode} run {message.run_id} of project "
                              f"{args.name}: {calls} calls", highlight=False)
                for name in sorted(set(providers) - set(asked)):
                    console.print(f"  {name} is not asked in retrieval mode: "
                                  f"{search_refusal(name)}", highlight=False)
            print(run_id)
            if not args.wait:
                return 0
            deadline = time.monotonic() + args.timeout
            while True:
                try:
                    report = await project_report(pool, args.name, run_id)
                    break
                except NoProjectRun:
                    if time.monotonic() > deadline:
                        console.print(f"[red]run {run_id} not reported within "
                                      f"{args.timeout:g} s[/]")
                        return 1
                    await asyncio.sleep(1.0)
            render_project_report(report, Console())
            return 0

    return asyncio.run(main())


def _report(args: argparse.Namespace) -> int:
    from streams.runtime.postgres import create_pool
    from streams.visibility.report import project_report, report_as_json

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=2) as pool:
            report = await project_report(pool, args.name,
                                          uuid.UUID(args.run) if args.run else None,
                                          mode=args.mode)
        if args.json:
            print(json.dumps(report_as_json(report)))
        else:
            render_project_report(report, Console(), discovered=args.discovered)

    asyncio.run(main())
    return 0


def add_project_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    project = commands.add_parser("project", help="projects: tracked prompts, share of voice")
    actions = project.add_subparsers(dest="action", required=True)
    p = actions.add_parser("apply", help="create or update a project from its YAML file")
    p.add_argument("file")
    p.set_defaults(handler=_apply)
    p = actions.add_parser("list", help="every project, its size and last run")
    p.set_defaults(handler=_list)
    p = actions.add_parser("show", help="a project's brands and prompts (current versions)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_show)
    p = actions.add_parser("run", help="publish one run: prompts × providers × k samples")
    p.add_argument("name")
    p.add_argument("--samples", type=int, default=None, help="k for this run (the file's by "
                                                               "default)")
    p.add_argument("--wait", action="store_true", help="wait for the run, print its report")
    p.add_argument("--timeout", type=float, default=600.0)
    p.set_defaults(handler=_run)
    p = actions.add_parser("report", help="visibility and share of voice of a run (the latest "
                                          "finished one by default)")
    p.add_argument("name")
    p.add_argument("--run", help="a run id of the project")
    p.add_argument("--json", action="store_true")
    p.add_argument("--discovered", type=int, default=10, help="untracked brands to list")
    p.add_argument("--mode", choices=["memory", "retrieval"], default="memory",
                   help="without --run: the latest run asked in this mode")
    p.set_defaults(handler=_report)
