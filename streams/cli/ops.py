"""Operator commands: ``dlt``, ``replay``, ``status``, ``reconcile``."""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from streams.config import Settings, get_settings

console = Console()


def _when(text: str | None) -> datetime | None:
    """ISO 8601; a time without zone is local time."""
    return datetime.fromisoformat(text).astimezone() if text else None


async def _dlt(args: argparse.Namespace, settings: Settings) -> int:
    from streams.kafka.broker import create_broker
    from streams.ops.redrive import count_by_reason, read_dead_letters, redrive

    letters = await read_dead_letters(settings.kafka.bootstrap, args.topic)
    letters = [
        letter for letter in letters
        if letter.matches(reason=args.reason, since=_when(args.since), until=_when(args.until),
                          group=args.group)
    ]
    if args.action == "list":
        table = Table("dead-letter topic", "consumer group", "reason", "count")
        for (topic, group, reason), count in sorted(count_by_reason(letters).items()):
            table.add_row(topic, group, reason, str(count))
        console.print(table)
        console.print(f"{len(letters)} dead letters")
    elif args.action == "show":
        for letter in letters[: args.limit]:
            r = letter.record
            console.print(f"[bold]{r.topic}[{r.partition}]@{r.offset}[/] {letter.failed_at:%F %T}"
                          f" key={(r.key or b'').decode(errors='replace')}", highlight=False)
            for name, value in sorted(letter.headers.items()):
                console.print(f"  {name}: {value}", highlight=False, markup=False)
            console.print(f"  value: {(r.value or b'')[:300].decode(errors='replace')}",
                          highlight=False, markup=False)
    else:
        broker = create_broker(settings)
        async with broker:
            await broker.connect()
            sent = await redrive(broker, letters)
        console.print(f"redriven {sent} dead letters to their original topics")
    return 0


async def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from streams.kafka.broker import create_broker
    from streams.ops.replay import ReplayRefused, copy_range, execute_reset, plan_reset
    from streams.runtime.liveness import live_processes
    from streams.runtime.postgres import create_pool

    if args.action == "copy":
        broker = create_broker(settings)
        async with broker:
            await broker.connect()
            copied = await copy_range(settings.kafka.bootstrap, broker, args.topic, args.into,
                                      since=_when(args.since), until=_when(args.until))
        console.print(f"copied {copied} records from {args.topic} into {args.into}")
        return 0
    try:
        moves = await plan_reset(
            settings.kafka.bootstrap, args.group, args.topic, to_offset=args.to_offset,
            to_datetime=_when(args.to_datetime), shift_by=args.shift_by,
            to_earliest=args.to_earliest, to_latest=args.to_latest,
        )
        table = Table("partition", "current", "target", "end")
        for move in moves:
            table.add_row(str(move.partition.partition), str(move.current), str(move.target),
                          str(move.end))
        console.print(table)
        if not args.execute:
            console.print("dry run: add --execute to commit these offsets")
            return 0
        async with await create_pool(settings, max_size=1) as pool:
            processes = await live_processes(pool, args.group)
        await execute_reset(settings.kafka.bootstrap, args.group, moves,
                            live_processes=processes,
                            trust_broker_membership=settings.kafka.trust_group_membership)
    except ReplayRefused as exc:
        console.print(f"[red]refused:[/] {exc}")
        return 2
    console.print(f"group {args.group} reset on {args.topic}")
    return 0


async def _status_tables(settings: Settings) -> Group:
    from streams.ops.lag import consumer_lag, total_by_group_topic
    from streams.runtime.postgres import create_pool

    lags = await consumer_lag(settings.kafka.bootstrap)
    groups = Table("consumer group", "topic", "committed", "end", "lag", title="consumers")
    for (group, topic), (committed, end, lag) in sorted(total_by_group_topic(lags).items()):
        groups.add_row(group, topic, str(committed), str(end), str(lag))
    async with await create_pool(settings, max_size=1) as pool:
        rows = await pool.fetch(
            """SELECT * FROM runs
               WHERE status = 'running' OR finished_at > now() - interval '1 hour'
               ORDER BY created_at DESC LIMIT 20""")
    runs = Table("run", "status", "domains", "answered", "expected", "coverage", title="runs")
    for row in rows:
        answered = row["succeeded_calls"] + row["failed_calls"]
        coverage = row["succeeded_calls"] / row["expected_calls"] if row["expected_calls"] else 0
        runs.add_row(str(row["run_id"]), row["status"],
                     f"{row['planned_domains']}/{row['expected_domains']}", str(answered),
                     str(row["expected_calls"]), f"{coverage:.1%}")
    return Group(groups, runs)


async def _status(args: argparse.Namespace, settings: Settings) -> int:
    if not args.live:
        console.print(await _status_tables(settings))
        return 0
    deadline = time.monotonic() + args.duration if args.duration else None
    with Live(await _status_tables(settings), console=console, refresh_per_second=1) as live:
        while deadline is None or time.monotonic() < deadline:
            await asyncio.sleep(args.interval)
            live.update(await _status_tables(settings))
    return 0


async def _reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from streams.kafka.broker import create_broker
    from streams.runs.reconciler import republish_due_calls
    from streams.runtime.postgres import create_pool

    pool = await create_pool(settings, max_size=2)
    broker = create_broker(settings)
    try:
        async with broker:
            await broker.connect()
            count = await republish_due_calls(
                pool, broker, bootstrap=settings.kafka.bootstrap,
                grace_s=args.grace if args.grace is not None
                else settings.reconcile.grace_s, lease_s=settings.call_lease_s)
    finally:
        await pool.close()
    console.print(f"re-published {count} due calls")
    return 0


def _runner(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        result: int = asyncio.run(handler(args, get_settings()))
        return result
    return run


def add_ops_commands(commands: Any) -> None:
    p = commands.add_parser("dlt", help="dead letters: list, show, redrive")
    p.add_argument("action", choices=["list", "show", "redrive"])
    p.add_argument("--topic", help="original or .dlt topic (all by default)")
    p.add_argument("--reason", help="substring of the exception type or message")
    p.add_argument("--group", help="only dead letters of this consumer group")
    p.add_argument("--since", help="ISO 8601 time; dead-lettered at or after")
    p.add_argument("--until", help="ISO 8601 time; dead-lettered before")
    p.add_argument("--limit", type=int, default=20, help="show: at most this many")
    p.set_defaults(handler=_runner(_dlt))

    p = commands.add_parser("replay", help="reset a group's offsets, or copy a time range")
    p.add_argument("action", choices=["reset", "copy"])
    p.add_argument("--topic", required=True)
    p.add_argument("--group", help="reset: the consumer group")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--to-offset", type=int)
    target.add_argument("--to-datetime", help="ISO 8601")
    target.add_argument("--shift-by", type=int)
    target.add_argument("--to-earliest", action="store_true")
    target.add_argument("--to-latest", action="store_true")
    p.add_argument("--execute", action="store_true", help="reset: commit (default: dry run)")
    p.add_argument("--into", help="copy: destination topic")
    p.add_argument("--since", help="copy: ISO 8601 start (inclusive)")
    p.add_argument("--until", help="copy: ISO 8601 end (exclusive)")
    p.set_defaults(handler=_runner(_replay))

    p = commands.add_parser("reconcile", help="re-publish due retries and lost calls now")
    p.add_argument("--grace", type=float, default=None,
                   help="seconds since a call was published before it counts as lost")
    p.set_defaults(handler=_runner(_reconcile))

    p = commands.add_parser("status", help="consumer lag per group and topic, and active runs")
    p.add_argument("--live", action="store_true", help="refresh until interrupted")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=None, help="live: stop after N seconds")
    p.set_defaults(handler=_runner(_status))
