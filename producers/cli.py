"""``domain-runner publish``: read, validate, report rejections, publish the valid domains."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from producers.domain_file import parse_domains
from producers.domains import publish_run
from streams.config import get_settings
from streams.kafka import create_broker
from streams.tracing import configure_tracing

PROGRESS_FROM = 1000


def read_source(name: str) -> str:
    return sys.stdin.read() if name == "-" else Path(name).read_text()


async def publish_file(args: argparse.Namespace, text: str, console: Console) -> int:
    """Exit status 0 when everything was published, 1 when some lines were rejected, 2 when
    nothing could be published."""
    settings = get_settings()
    parsed = parse_domains(text)
    for rejection in parsed.rejections:
        console.print(f"[yellow]rejected[/] {rejection}", highlight=False)
    if not parsed.entries:
        console.print("[red]no valid domains to publish[/]")
        return 2
    providers = args.providers.split(",") if args.providers else settings.providers
    unknown = sorted(set(providers) - set(settings.provider_configs))
    if unknown:
        console.print(f"[red]unknown providers: {', '.join(unknown)}[/]")
        return 2
    run_id = uuid.UUID(args.run_id) if args.run_id else uuid.uuid4()
    configure_tracing("domain-runner-publish")
    broker = create_broker(settings)
    async with broker:
        await broker.connect()
        with Progress(console=console, disable=len(parsed.entries) < PROGRESS_FROM) as progress:
            task = progress.add_task("publishing", total=len(parsed.entries))
            published = await publish_run(
                broker, parsed.entries, run_id=run_id, providers=providers,
                prompt_set=args.prompt_set, samples=args.samples,
                cost_cap_usd=getattr(args, "cost_cap", None),
                on_published=lambda done: progress.update(task, completed=done),
            )
    console.print(f"published {len(published)} domains, rejected {len(parsed.rejections)}")
    print(run_id)
    return 1 if parsed.rejections else 0
