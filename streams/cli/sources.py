"""``sources report RUN``, ``sources reextract RUN``, ``sources classes``, ``bodies purge``."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from streams.config import get_settings

if TYPE_CHECKING:  # the commands import what they use when they run (a fast CLI start)
    from streams.sources.metrics import ModeGap
    from streams.sources.report import SourcesReport

console = Console(stderr=True)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f" [{low * 100:.0f}–{high * 100:.0f}]"


def render_sources(out: Console, report: SourcesReport, gaps: list[ModeGap], *,
                   names: dict[str, str] | None = None, top: int = 5,
                   brands: set[str] | None = None) -> None:
    """The top cited domains with their class, and memory vs retrieval per provider (of
    ``brands`` only, when given)."""
    whole = report.scope()
    if whole is None:
        return
    out.print(f"[bold]sources[/] of retrieval run {report.run_id}: {whole.answers} answers, "
              f"{whole.citations} citations ({whole.retrieved_only} more sources retrieved but "
              f"not cited); extractor v{report.extractor_version}", highlight=False)
    out.print(f"  answers citing the brand's own site: {_percent(whole.own_rate.value)}"
              f"{_interval(whole.own_rate.low, whole.own_rate.high)} "
              f"(n={whole.own_rate.n})", highlight=False)
    out.print("  top cited domains (share of citations [95 % interval]; answers citing it):",
              highlight=False)
    for share in whole.domains[:top]:
        out.print(f"    {share.key:28} {share.source_class:15} "
                  f"{_percent(share.share.value)}{_interval(share.share.low, share.share.high)}"
                  f"; {_percent(share.rate.value)} of answers", highlight=False)
    out.print("  by class: " + ", ".join(
        f"{c.key} {_percent(c.share.value)}" for c in whole.classes), highlight=False)
    if report.queries:
        out.print("  searches run most: " + "; ".join(
            f"{escape(q)} ×{n}" for q, n in report.queries[:3]), highlight=False)
    for name, why in sorted(report.refused.items()):
        out.print(f"  not asked with search: {name} ({why})", highlight=False)
    shown = [g for g in gaps if g.metric == "visibility"
             and (brands is None or g.brand in brands)]
    if not shown:
        return
    out.print("  [bold]memory vs retrieval[/], visibility (retrieval − memory, p-value):",
              highlight=False)
    for gap in shown:
        label = (names or {}).get(gap.brand, gap.brand)
        difference = ("–" if gap.difference is None
                      else f"{gap.difference * 100:+.0f} pts"
                           f"{_interval(gap.low, gap.high)}")
        flag = " significant" if gap.significant else ""
        p_value = "" if gap.p_value is None else f", p={gap.p_value:.3f}"
        out.print(f"    {gap.provider:11} {label:22} memory {_percent(gap.memory.value)} "
                  f"(n={gap.memory.n}) → retrieval {_percent(gap.retrieval.value)} "
                  f"(n={gap.retrieval.n}): {difference}{p_value}{flag}", highlight=False)


def _report(args: argparse.Namespace) -> int:
    from streams.runtime.postgres import create_pool
    from streams.sources.report import project_gaps, sources_report

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=2) as pool:
            report = await sources_report(pool, uuid.UUID(args.run_id))
            gaps = await project_gaps(pool, report.run_id)
        render_sources(Console(), report, gaps, top=args.top)

    asyncio.run(main())
    return 0


def _reextract(args: argparse.Namespace) -> int:
    from streams.providers.citations import EXTRACTOR_VERSION
    from streams.runtime.postgres import create_pool
    from streams.sources.classes import classes_from
    from streams.sources.replay import reextract

    settings = get_settings()

    async def main() -> None:
        async with await create_pool(settings, max_size=2) as pool:
            result = await reextract(
                pool, uuid.UUID(args.run_id), providers=settings.provider_configs,
                classes=classes_from(settings.sources.classes_file),
                version=args.version or EXTRACTOR_VERSION)
        print(f"run {result.run_id}, extractor v{result.version}: {result.read} of "
              f"{result.answers} retrieval answers read from their kept bodies "
              f"({result.stored} new under this version), {result.sources} sources; text and "
              f"usage parsed again as stored in {result.text_reproduced} of {result.read}; "
              f"no provider called")
        for call_id, why in sorted(result.unreadable.items()):
            console.print(f"  call {call_id}: {escape(why)}", highlight=False)

    asyncio.run(main())
    return 0


def _classes(args: argparse.Namespace) -> int:
    from streams.sources.classes import SHIPPED_CLASSES, classes_from

    settings = get_settings()
    classes = classes_from(settings.sources.classes_file)
    print(f"# {settings.sources.classes_file or SHIPPED_CLASSES}")
    for domain, klass in sorted(classes.domains.items()):
        print(f"{domain},{klass}")
    for suffix, klass in classes.suffixes:
        print(f"{suffix},{klass}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    from streams.runtime.postgres import create_pool
    from streams.sources.store import purge_bodies

    settings = get_settings()

    async def main() -> None:
        async with await create_pool(settings, max_size=1) as pool:
            days = args.days if args.days is not None else settings.bodies.retention_days
            dropped = await purge_bodies(pool, retention_days=days)
        print(f"dropped {dropped} provider bodies older than {days} days")

    asyncio.run(main())
    return 0


def add_sources_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sources = commands.add_parser("sources", help="what retrieval answers cite")
    actions = sources.add_subparsers(dest="action", required=True)
    p = actions.add_parser("report", help="a retrieval run's cited domains and classes, and "
                                          "memory vs retrieval when the run has a twin")
    p.add_argument("run_id")
    p.add_argument("--top", type=int, default=10)
    p.set_defaults(handler=_report)
    p = actions.add_parser("reextract", help="read a run's sources again from the kept "
                                             "bodies (no provider call)")
    p.add_argument("run_id")
    p.add_argument("--version", type=int, help="store under this extractor version")
    p.set_defaults(handler=_reextract)
    p = actions.add_parser("classes", help="the third-party source classes loaded")
    p.set_defaults(handler=_classes)
    bodies = commands.add_parser("bodies", help="the kept provider response bodies")
    actions = bodies.add_subparsers(dest="action", required=True)
    p = actions.add_parser("purge", help="drop bodies older than the retention")
    p.add_argument("--days", type=int, help="default: DR_BODIES_RETENTION_DAYS (180)")
    p.set_defaults(handler=_purge)
