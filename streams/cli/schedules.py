"""``schedule add|list|remove`` and the scheduler process (``run scheduler``)."""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from streams.config import get_settings

console = Console(stderr=True)


def run_scheduler() -> int:
    from producers.news import FETCH_TIMEOUT_S, feed_fetcher
    from producers.scheduler import schedule_forever
    from streams.kafka.broker import create_broker
    from streams.runtime.http import create_http_client
    from streams.runtime.postgres import create_pool
    from streams.runtime.tracing import configure_tracing

    settings = get_settings()
    configure_tracing("domain-runner-scheduler")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        pool = await create_pool(settings, max_size=2)
        broker = create_broker(settings)
        http = create_http_client(timeout_s=FETCH_TIMEOUT_S)
        try:
            async with broker:
                await broker.connect()
                await schedule_forever(pool, broker, settings, fetcher=feed_fetcher(http, settings),
                                       stop=stop)
        finally:
            await http.aclose()
            await pool.close()

    asyncio.run(main())
    return 0


def _add(args: argparse.Namespace) -> int:
    from producers.domain_file import read_domains
    from streams.inputs.text_input import open_input
    from streams.runtime.postgres import create_pool
    from streams.schedules import add_schedule

    if args.project:
        kind, target = "project", args.project
    else:
        with open_input(args.domains) as handle:
            parsed = read_domains(handle, args.domains)
        kind = "domains"
        target = [{"domain": e.domain, "name": e.name, "aliases": list(e.aliases)}
                  for e in parsed.entries]

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=1) as pool:
            schedule = await add_schedule(pool, name=args.name, target_kind=kind, target=target,
                                          cron=args.cron, timezone=args.tz, missed=args.missed,
                                          samples=args.samples)
        console.print(f"schedule {schedule.name}: {schedule.cron} ({schedule.timezone}); next "
                      f"slot {schedule.next_slot(datetime.now(UTC)):%Y-%m-%d %H:%M} UTC",
                      highlight=False)

    asyncio.run(main())
    return 0


def _list(args: argparse.Namespace) -> int:
    from streams.runtime.postgres import create_pool
    from streams.schedules import active_schedules

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=1) as pool:
            schedules = await active_schedules(pool)
        now = datetime.now(UTC)
        table = Table()
        for column in ("schedule", "runs", "cron", "zone", "last slot", "next slot"):
            table.add_column(column, no_wrap=True)
        for s in schedules:
            what = (f"project {s.target}" if s.target_kind == "project"
                    else f"{len(s.target)} domains")
            table.add_row(s.name, what, s.cron, s.timezone,
                          f"{s.last_slot:%Y-%m-%d %H:%M}" if s.last_slot else "-",
                          f"{s.next_slot(now):%Y-%m-%d %H:%M}")
        Console().print(table)

    asyncio.run(main())
    return 0


def _remove(args: argparse.Namespace) -> int:
    from streams.runtime.postgres import create_pool
    from streams.schedules import remove_schedule

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=1) as pool:
            await remove_schedule(pool, args.name)
        console.print(f"schedule {args.name} removed (its slots stay recorded)")

    asyncio.run(main())
    return 0


def add_schedule_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedule = commands.add_parser("schedule", help="runs on a cron expression")
    actions = schedule.add_subparsers(dest="action", required=True)
    p = actions.add_parser("add", help="add (or replace) a schedule")
    p.add_argument("name")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--project", help="a project's name")
    target.add_argument("--domains", help="a file of domains (as for publish)")
    p.add_argument("--cron", required=True, help='e.g. "0 9 * * *" (daily at 09:00)')
    p.add_argument("--tz", default="UTC", help="an IANA time zone, e.g. Europe/Berlin")
    p.add_argument("--missed", choices=["latest", "all", "none"], default="latest",
                   help="after downtime: run the latest missed slot (default), all, or none")
    p.add_argument("--samples", type=int, default=None)
    p.set_defaults(handler=_add)
    p = actions.add_parser("list", help="every schedule with its last and next slot")
    p.set_defaults(handler=_list)
    p = actions.add_parser("remove", help="stop a schedule")
    p.add_argument("name")
    p.set_defaults(handler=_remove)
