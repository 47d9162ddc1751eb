"""``domain-runner api`` (the HTTP API on uvicorn) and ``api-keys create|list|revoke``."""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console
from rich.table import Table

from streams.config import get_settings

console = Console(stderr=True)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from streams.api import create_app
    from streams.runtime.tracing import configure_tracing

    configure_tracing("domain-runner-api")
    # Uvicorn's access log shows method, path and status: never a header, so never a key.
    uvicorn.run(create_app(get_settings()), host=args.host, port=args.port,
                log_level="info", proxy_headers=False)
    return 0


def _create(args: argparse.Namespace) -> int:
    from streams.api import create_key
    from streams.runtime.postgres import create_pool

    async def main() -> str:
        async with await create_pool(get_settings(), max_size=1) as pool:
            key, record = await create_key(pool, name=args.name, scope=args.scope)
        console.print(f"created {record.scope} key {record.fingerprint} ({record.name}); it is "
                      "shown once, below, and stored only as a hash", highlight=False)
        return key

    # The key alone on the last line of standard output, for scripts.
    print(asyncio.run(main()))
    return 0


def _list(args: argparse.Namespace) -> int:
    from streams.api import list_keys
    from streams.runtime.postgres import create_pool

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=1) as pool:
            keys = await list_keys(pool)
        table = Table()
        for column in ("fingerprint", "name", "scope", "created", "last used", "state"):
            table.add_column(column, no_wrap=True)
        for key in keys:
            table.add_row(key.fingerprint, key.name, key.scope, f"{key.created_at:%Y-%m-%d}",
                          f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
                          "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d}")
        Console().print(table)

    asyncio.run(main())
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from streams.api import revoke_key
    from streams.runtime.postgres import create_pool

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=1) as pool:
            key = await revoke_key(pool, args.fingerprint)
        console.print(f"revoked key {key.fingerprint} ({key.name}) at {key.revoked_at}",
                      highlight=False)

    asyncio.run(main())
    return 0


def add_api_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("api", help="the HTTP API (FastAPI on uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(handler=_serve)
    keys = commands.add_parser("api-keys", help="API keys: create, list, revoke")
    actions = keys.add_subparsers(dest="action", required=True)
    p = actions.add_parser("create", help="a new key, printed once on the last line")
    p.add_argument("--name", required=True)
    p.add_argument("--scope", choices=["read", "write"], default="read")
    p.set_defaults(handler=_create)
    p = actions.add_parser("list", help="every key by fingerprint (never the key)")
    p.set_defaults(handler=_list)
    p = actions.add_parser("revoke", help="revoke a key by its fingerprint")
    p.add_argument("fingerprint")
    p.set_defaults(handler=_revoke)
