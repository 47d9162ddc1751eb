"""``domain-runner publish``: read, validate, report rejections, publish the valid domains."""

from __future__ import annotations

import argparse
import asyncio
import uuid

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from contracts import Mode
from producers.domain_file import DomainFile, read_domains
from producers.domains import publish_run
from streams.config import get_settings
from streams.inputs.text_input import InputError, open_input
from streams.kafka.broker import create_broker
from streams.providers.catalog import search_refusal
from streams.runtime.tracing import configure_tracing

PROGRESS_FROM = 1000


def read_source(name: str) -> DomainFile:
    """The domain file ``name`` (``-``: standard input); ``InputError`` when it cannot be read."""
    with open_input(name) as handle:
        return read_domains(handle, name)


def publish(args: argparse.Namespace, console: Console) -> int:
    """The command. Exit status 0 when everything was published, 1 when some lines were
    rejected, 2 when nothing could be published. Messages are one line each (``soft_wrap``) and
    escaped, since they quote the file."""
    try:
        parsed = read_source(args.file)
    except InputError as exc:
        console.print(f"[red]not published[/]: {escape(str(exc))}", soft_wrap=True)
        return 2
    for rejection in parsed.rejections:
        console.print(f"[yellow]rejected[/] {escape(f'{args.file}: {rejection}')}",
                      highlight=False, soft_wrap=True)
    if not parsed.entries:
        console.print(f"[red]not published[/]: {escape(args.file)}: no valid domains",
                      soft_wrap=True)
        return 2
    return asyncio.run(publish_file(args, parsed, console))


async def publish_file(args: argparse.Namespace, parsed: DomainFile, console: Console) -> int:
    """Publish the accepted entries as one run (exit status as ``publish``)."""
    settings = get_settings()
    providers = args.providers.split(",") if args.providers else settings.providers
    unknown = sorted(set(providers) - set(settings.provider_configs))
    if unknown:
        console.print(f"[red]unknown providers: {escape(', '.join(unknown))}[/]")
        return 2
    mode: Mode = "retrieval" if getattr(args, "mode", "memory") == "retrieval" else "memory"
    refused = {name: why for name in providers if mode == "retrieval"
               and (why := search_refusal(name))}
    if refused and args.providers:
        for name, why in refused.items():
            console.print(f"[red]{name} cannot answer in retrieval mode[/]: {escape(why)}",
                          soft_wrap=True)
        return 2
    for name, why in refused.items():
        console.print(f"[yellow]{name} is not asked in retrieval mode[/]: {escape(why)}",
                      soft_wrap=True)
    if refused:
        # Left to the deployment's default, so capture records each refusal on the run.
        providers = []
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
                cost_cap_usd=getattr(args, "cost_cap", None), mode=mode,
                on_published=lambda done: progress.update(task, completed=done),
            )
    console.print(f"published {len(published)} domains, rejected {len(parsed.rejections)}")
    print(run_id)
    return 1 if parsed.rejections else 0
