"""News commands: ``news ingest FILE|URL``."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from streams.config import Settings, get_settings

if TYPE_CHECKING:
    import asyncpg

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


def _every(text: str) -> int:
    """``90``, ``15m``, ``2h``, ``1d``: an interval in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an interval: {text!r} (e.g. 900, 15m, 1h)"
                                         ) from None


def _feeds(args: argparse.Namespace) -> int:
    """``feeds add|list|remove|poll``: the sources the scheduler polls."""
    from datetime import UTC, datetime

    from rich.table import Table

    from streams.feeds import FeedError, add_feed, list_feeds, remove_feed
    from streams.runtime.postgres import create_pool

    async def main() -> int:
        settings = get_settings()
        pool = await create_pool(settings, max_size=2)
        try:
            if args.feeds_action == "add":
                feed = await add_feed(pool, args.url, every_s=args.every, now=datetime.now(UTC))
                console.print(f"feed {escape(feed.url)}: polled every {feed.every_s} s by the "
                              "scheduler (domain-runner run scheduler)", highlight=False)
            elif args.feeds_action == "remove":
                await remove_feed(pool, args.url)
                console.print(f"feed {escape(args.url)} removed", highlight=False)
            elif args.feeds_action == "poll":
                return await _poll_now(pool, settings)
            else:
                table = Table()
                for column in ("feed", "every", "last poll", "status", "polls", "304s",
                               "events", "next poll", "error"):
                    table.add_column(column)
                for feed in await list_feeds(pool):
                    table.add_row(escape(feed.url), f"{feed.every_s} s",
                                  f"{feed.last_polled_at:%Y-%m-%d %H:%M}"
                                  if feed.last_polled_at else "-",
                                  str(feed.last_status or "-"), str(feed.polls),
                                  str(feed.unchanged_polls), str(feed.events_published),
                                  f"{feed.next_poll_at:%Y-%m-%d %H:%M}",
                                  escape(feed.last_error or ""))
                Console().print(table)
        except FeedError as exc:
            console.print(f"[red]{escape(str(exc))}[/]", highlight=False)
            return 2
        finally:
            await pool.close()
        return 0

    return asyncio.run(main())


async def _poll_now(pool: asyncpg.Pool, settings: Settings) -> int:
    """Poll the due feeds once, here (what the scheduler does each tick)."""
    from datetime import UTC, datetime

    from producers.feeds import poll_due_feeds
    from producers.news import FETCH_TIMEOUT_S, feed_fetcher
    from streams.kafka.broker import create_broker
    from streams.runtime.http import create_http_client

    http = create_http_client(timeout_s=FETCH_TIMEOUT_S)
    broker = create_broker(settings)
    try:
        async with broker:
            await broker.connect()
            polled = await poll_due_feeds(pool, broker, feed_fetcher(http, settings),
                                          now=datetime.now(UTC))
    finally:
        await http.aclose()
    for outcome in polled:
        state = ("unchanged (304)" if outcome.status == 304 else
                 f"failed: {outcome.error}" if outcome.error else
                 f"{outcome.events} events published, {outcome.rejected} items rejected")
        console.print(f"{escape(outcome.url)}: {escape(state)}", highlight=False)
    if not polled:
        console.print("no feed is due")
    return 1 if any(p.error for p in polled) else 0


def add_news_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    news = commands.add_parser("news", help="news events for correlation")
    actions = news.add_subparsers(dest="action", required=True)
    p = actions.add_parser("ingest", help="publish an RSS/Atom feed or JSONL file as news events")
    p.add_argument("source", help="a file path or an http(s) URL")
    p.add_argument("--dry-run", action="store_true", help="print the events, publish nothing")
    p.set_defaults(handler=_ingest)

    feeds = commands.add_parser("feeds", help="news feeds the scheduler polls (ETag / "
                                              "Last-Modified)")
    actions = feeds.add_subparsers(dest="feeds_action", required=True)
    p = actions.add_parser("add", help="register an RSS/Atom (or JSONL) URL")
    p.add_argument("url")
    p.add_argument("--every", type=_every, default=900, help="poll interval: 900, 15m, 1h, 1d")
    p.set_defaults(handler=_feeds)
    p = actions.add_parser("list", help="every feed with its last poll")
    p.set_defaults(handler=_feeds)
    p = actions.add_parser("remove", help="stop polling a feed")
    p.add_argument("url")
    p.set_defaults(handler=_feeds)
    p = actions.add_parser("poll", help="poll the due feeds once, now")
    p.set_defaults(handler=_feeds)
