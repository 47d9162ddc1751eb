"""``domain-runner``: the one command line. Each subcommand is a thin shell over a module."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import uuid
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from streams.cli.alerts import add_alert_commands
from streams.cli.api import add_api_commands
from streams.cli.news import add_news_commands
from streams.cli.ops import add_ops_commands
from streams.cli.projects import add_project_commands
from streams.cli.schedules import add_schedule_commands, run_scheduler
from streams.cli.sources import add_sources_commands
from streams.cli.validation import add_validation_commands
from streams.config import get_settings
from streams.errors import DomainRunnerError

console = Console(stderr=True)


def _stack(args: argparse.Namespace) -> int:
    from streams.devstack import stack

    if args.action == "up":
        info = stack.stack_up(with_simulator=not args.no_simulator)
        console.print(f"stack up: {info}")
    elif args.action == "down":
        stack.stack_down(purge=args.purge)
        console.print("stack down")
    else:
        for name, status in stack.stack_status().items():
            where = status.url or (f"port {status.port}" if status.port else "")
            state = f"running (pid {status.pid}) {where}" if status.running else "stopped"
            print(f"{name:10} {state}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from streams.runtime.migrate import migrate

    applied = asyncio.run(migrate(get_settings().postgres.dsn.get_secret_value()))
    console.print(f"applied: {', '.join(applied) if applied else 'nothing (up to date)'}")
    return 0


def _topics(args: argparse.Namespace) -> int:
    from streams.kafka.broker import create_topics

    created = asyncio.run(create_topics(get_settings(), replication_factor=args.replication_factor))
    console.print(f"created: {', '.join(created) if created else 'nothing (all exist)'}")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from producers.cli import publish

    return publish(args, console)


# Producers that run as long-lived processes beside the consumer groups (``run NAME``).
PRODUCER_PROCESSES = ("scheduler",)


def _run(args: argparse.Namespace) -> int:
    if args.groups == ["scheduler"]:
        # A producer, not a consumer group: it publishes each schedule's due slots.
        return run_scheduler()
    import uvloop

    from consumers import select_groups
    from streams.runtime.runner import run_groups
    from streams.runtime.tracing import configure_tracing

    groups = select_groups(args.groups or [])
    configure_tracing("domain-runner-" + "+".join(group.name for group in groups))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_groups(groups, get_settings(), stop)

    # uvloop: the consumer groups' event loops spend much of their time in the loop itself.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
    return 0


def _sim(args: argparse.Namespace) -> int:
    from streams.simulator import SimulatorConfig, serve

    serve(SimulatorConfig(host=args.host, port=args.port))
    return 0


def _report(args: argparse.Namespace) -> int:
    from streams.cli.report_view import render_report, report_as_dict
    from streams.runs.report import run_report
    from streams.runtime.postgres import create_pool
    from streams.scoring.store import run_scores

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=2) as pool:
            report = await run_report(pool, uuid.UUID(args.run_id))
            brands = await run_scores(pool, report.run_id)
            if args.html:
                from streams.api.pages import run_page

                html.append(await run_page(pool, report.run_id, standalone=True))
        if args.json:
            print(json.dumps(report_as_dict(report, brands), default=str))
        else:
            render_report(report, Console(), brands)

    html: list[str] = []
    asyncio.run(main())
    if args.html:
        Path(args.html).write_text(html[0], encoding="utf-8")
        Console(stderr=True).print(f"wrote {args.html}", highlight=False)
    return 0


def _keys(args: argparse.Namespace) -> int:
    from streams.cli.keys_view import key_states, keys_as_json, render_keys

    states = asyncio.run(key_states(get_settings(), reinstate=args.reinstate))
    if args.json:
        print(keys_as_json(states))
    else:
        render_keys(states, Console())
    return 0


def _demo(args: argparse.Namespace) -> int:
    from streams.cli.demo import run_demo

    return run_demo(limit=args.limit, samples=args.samples, timeout_s=args.timeout,
                    serve_port=args.port if args.serve else None)


def _schemas(args: argparse.Namespace) -> int:
    from contracts.schemas import write_schemas

    for path in write_schemas(Path(args.out)):
        console.print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="domain-runner", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("stack", help="start, stop or inspect the local stack")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--no-simulator", action="store_true", help="up: without the provider simulator")
    p.add_argument("--purge", action="store_true", help="down: also delete PostgreSQL's data")
    p.set_defaults(handler=_stack)

    p = commands.add_parser("migrate", help="apply the SQL migrations")
    p.set_defaults(handler=_migrate)

    p = commands.add_parser("topics", help="create every topic with its partition count")
    p.add_argument("action", choices=["create"])
    p.add_argument("--replication-factor", type=int, default=1)
    p.set_defaults(handler=_topics)

    p = commands.add_parser("publish", help="publish a file of domains as one run")
    p.add_argument("file", help="a file of domains, one per line or CSV; - for standard input")
    p.add_argument("--run-id", help="add to (or repeat) this run instead of starting a new one")
    p.add_argument("--providers", help="comma-separated; all configured by default")
    p.add_argument("--prompt-set", default="default")
    p.add_argument("--samples", type=int, default=1, help="samples per (provider, prompt) cell")
    p.add_argument("--cost-cap", type=float, metavar="USD",
                   help="most the run may spend; calls beyond it are skipped and reported")
    p.add_argument("--mode", choices=["memory", "retrieval"], default="memory",
                   help="retrieval: each provider answers with its own web search (those "
                        "without one are refused, with the reason)")
    p.set_defaults(handler=_publish)

    p = commands.add_parser("run", help="run consumer groups in the foreground")
    p.add_argument("groups", nargs="*", help="consumer groups (all by default)")
    p.set_defaults(handler=_run)

    p = commands.add_parser("sim", help="run the provider simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.set_defaults(handler=_sim)

    p = commands.add_parser("report", help="summarise a run from the stored responses")
    p.add_argument("run_id")
    p.add_argument("--json", action="store_true")
    p.add_argument("--html", metavar="FILE",
                   help="also write a self-contained HTML page with the plots")
    p.set_defaults(handler=_report)

    p = commands.add_parser("keys", help="each provider key's state, limits and bucket levels")
    p.add_argument("--json", action="store_true")
    p.add_argument("--reinstate", metavar="FINGERPRINT",
                   help="put a revoked key back into rotation first")
    p.set_defaults(handler=_keys)

    p = commands.add_parser("demo", help="the whole pipeline end to end on the local stack")
    p.add_argument("--limit", type=int, default=None, help="publish only the first N domains")
    p.add_argument("--samples", type=int, default=1)
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--serve", action="store_true",
                   help="then leave the API and dashboard running on the demo's data "
                        "(Ctrl-C stops everything)")
    p.add_argument("--port", type=int, default=8000, help="the dashboard's port with --serve")
    p.set_defaults(handler=_demo)

    add_ops_commands(commands)
    add_validation_commands(commands)
    add_news_commands(commands)
    add_project_commands(commands)
    add_api_commands(commands)
    add_schedule_commands(commands)
    add_alert_commands(commands)
    add_sources_commands(commands)

    p = commands.add_parser("schemas", help="write the JSON Schema of every message")
    p.add_argument("--out", default="contracts/schemas")
    p.set_defaults(handler=_schemas)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        result: int = args.handler(args)
    except DomainRunnerError as exc:
        # Ours, with a message meant for a person: one line, no traceback.
        console.print(f"[red]{type(exc).__name__}[/]: {escape(str(exc))}", soft_wrap=True,
                     highlight=False)
        return 2
    except ValidationError as exc:  # the settings: a variable that does not parse
        console.print(f"[red]invalid configuration[/]: {escape(_one_line(exc))}", soft_wrap=True,
                     highlight=False)
        return 2
    return result


def _one_line(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


