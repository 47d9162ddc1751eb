"""News commands: ``news ingest FILE|URL``."""

from __future__ import annotations

import argparse
import asyncio
import json

from rich.console import Console
from rich.markup import escape

from streams.config import get_settings

console = Console(stderr=True)


def _ingest(args: argparse.Namespace) -> int:
    """Exit 0: every item published; 1: some rejected; 2: nothing to publish. Messages are one
    line each (``soft_wrap``) and escaped, since they quote the source."""
    from producers.news import ingest
    from streams.inputs.text_input import InputError

    try:
        result = asyncio.run(ingest(args.source, get_settings(), dry_run=args.dry_run))
    except InputError as exc:
        console.print(f"[red]not ingested[/]: {escape(str(exc))}", soft_wrap=True)
        return 2
    for rejection in result.rejections:
        console.print(f"[yellow]rejected[/] {escape(f'{args.source}: {rejection}')}",
                      highlight=False, soft_wrap=True)
    if args.dry_run:
        for event in result.events:
            print(json.dumps(event.model_dump(mode="json")))
    verb = "would publish" if args.dry_run else "published"
    console.print(f"{verb} {len(result.events)} news events, rejected {len(result.rejections)}, "
                  f"{result.duplicates} duplicate URLs dropped")
    if not result.events:
        return 2
    return 1 if result.rejections else 0


def add_news_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    news = commands.add_parser("news", help="news events for correlation")
    actions = news.add_subparsers(dest="action", required=True)
    p = actions.add_parser("ingest", help="publish an RSS/Atom feed or JSONL file as news events")
    p.add_argument("source", help="a file path or an http(s) URL")
    p.add_argument("--dry-run", action="store_true", help="print the events, publish nothing")
    p.set_defaults(handler=_ingest)
