"""Reality-validation commands: ``facts load [FILE]`` and ``presence check DOMAIN…``."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streams.config import get_settings

console = Console()
errors = Console(stderr=True)


def _facts(args: argparse.Namespace) -> int:
    from streams.validation.facts import DEFAULT_FACTS_FILE, FactsFileError, load_facts_file

    path = Path(args.file) if args.file else DEFAULT_FACTS_FILE
    try:
        count = asyncio.run(load_facts_file(get_settings(), path))
    except FactsFileError as exc:  # one line, escaped: it quotes the file
        errors.print(f"[red]not loaded[/]: {escape(str(exc))}", soft_wrap=True)
        return 2
    console.print(f"loaded the facts of {count} brands from {path}")
    return 0


def _presence(args: argparse.Namespace) -> int:
    from contracts.domain_name import InvalidDomain, normalize_domain
    from streams.runtime.http import create_http_client
    from streams.runtime.postgres import create_pool
    from streams.validation.presence_store import check_domains
    from streams.validation.web_presence import checker_from_settings

    try:
        domains = list(dict.fromkeys(normalize_domain(d) for d in args.domains))
    except InvalidDomain as exc:
        errors.print(f"[red]invalid domain[/] {escape(str(exc))}", soft_wrap=True)
        return 2
    settings = get_settings()

    async def main() -> list[Any]:
        http = create_http_client(timeout_s=settings.web_presence_timeout_s)
        async with await create_pool(settings, max_size=2) as pool:
            checker = checker_from_settings(http, settings)
            return await check_domains(pool, checker, domains, force=args.force)
            await http.aclose()

    results = asyncio.run(main())
    if args.json:
        print(json.dumps([asdict(r) for r in results], default=str))
        return 0
    table = Table("domain", "status", "http", "redirect target", "title", "organization",
                  "parked marker / error")
    for r in results:
        org = (r.organization or {}).get("name")
        table.add_row(r.domain, r.status, str(r.http_status or ""), r.redirect_target or "",
                      r.title or "", str(org or ""), r.parked_marker or r.error or "")
    Console().print(table)
    return 0


def add_validation_commands(commands: Any) -> None:
    """Add ``facts`` and ``presence`` to the ``domain-runner`` subcommands."""
    p = commands.add_parser("facts", help="reference facts that answers are checked against")
    p.add_argument("action", choices=["load"])
    p.add_argument("file", nargs="?",
                   help="CSV or JSONL (.jsonl); default: the simulator's brands.csv")
    p.set_defaults(handler=_facts)

    p = commands.add_parser("presence", help="check domains' websites (once a day, stored)")
    p.add_argument("action", choices=["check"])
    p.add_argument("domains", nargs="+")
    p.add_argument("--force", action="store_true", help="check again even if checked today")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_presence)
