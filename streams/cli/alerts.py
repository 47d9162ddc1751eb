"""``alerts list``, ``alerts rule set``, ``alerts webhook add|list|remove``."""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid

from rich.console import Console
from rich.table import Table

from streams.config import get_settings
from streams.errors import DomainRunnerError

console = Console(stderr=True)


class NoSigningKey(DomainRunnerError):
    """Webhooks need DR_WEBHOOK_SIGNING_KEY."""


def _list(args: argparse.Namespace) -> int:
    from streams.runtime.postgres import create_pool

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=1) as pool:
            rows = await pool.fetch(
                "SELECT body::text AS body FROM alerts ORDER BY raised_at DESC LIMIT $1",
                args.limit)
        for row in rows:
            body = json.loads(row["body"])
            print(f"{body['raised_at'][:19]}  {body['kind']:13} {body['summary']}")

    asyncio.run(main())
    return 0


def _rule(args: argparse.Namespace) -> int:
    from streams.alerts import set_rule
    from streams.runtime.postgres import create_pool

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=1) as pool:
            await set_rule(pool, project=args.project,
                           metrics=args.metrics.split(",") if args.metrics else ("*",),
                           min_effect=args.min_effect, alpha=args.alpha)
        console.print(f"rule for {args.project or 'every project and brand'}: metrics "
                      f"{args.metrics or 'all'}, min effect {args.min_effect:g}, "
                      f"α = {args.alpha:g}", highlight=False)

    asyncio.run(main())
    return 0


def _add(args: argparse.Namespace) -> int:
    from streams.alerts import add_webhook, webhook_secret
    from streams.runtime.postgres import create_pool

    settings = get_settings()
    signing_key = settings.webhook_signing_key.get_secret_value()
    if not signing_key:
        raise NoSigningKey("set DR_WEBHOOK_SIGNING_KEY (a long random value) first: each "
                           "webhook's secret is derived from it")

    async def main() -> tuple[uuid.UUID, str]:
        async with await create_pool(settings, max_size=1) as pool:
            hook = await add_webhook(pool, args.url, format="slack" if args.slack else "json",
                                     allow_private=args.allow_private)
        return hook.webhook_id, webhook_secret(signing_key, hook.webhook_id)

    webhook_id, secret = asyncio.run(main())
    console.print(f"webhook {webhook_id} → {args.url}; its signing secret, shown once, is on "
                  "the last line (verify X-Domain-Runner-Signature with it)", highlight=False)
    print(secret)
    return 0


def _webhooks(args: argparse.Namespace) -> int:
    from streams.alerts import active_webhooks
    from streams.runtime.postgres import create_pool

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=1) as pool:
            hooks = await active_webhooks(pool)
        table = Table()
        for column in ("webhook", "url", "format", "private allowed", "added"):
            table.add_column(column, no_wrap=True)
        for hook in hooks:
            table.add_row(str(hook.webhook_id), hook.url, hook.format,
                          "yes" if hook.allow_private else "no", f"{hook.created_at:%Y-%m-%d}")
        Console().print(table)

    asyncio.run(main())
    return 0


def _remove(args: argparse.Namespace) -> int:
    from streams.alerts import remove_webhook
    from streams.runtime.postgres import create_pool

    async def main() -> None:
        async with await create_pool(get_settings(), max_size=1) as pool:
            await remove_webhook(pool, uuid.UUID(args.webhook_id))

    asyncio.run(main())
    console.print(f"webhook {args.webhook_id} removed")
    return 0


def add_alert_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    alerts = commands.add_parser("alerts", help="alerts, their rules and webhooks")
    actions = alerts.add_subparsers(dest="action", required=True)
    p = actions.add_parser("list", help="the latest alerts")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(handler=_list)
    p = actions.add_parser("rule", help="which changes alert")
    rule = p.add_subparsers(dest="rule_action", required=True)
    p = rule.add_parser("set", help="set the global rule, or a project's")
    p.add_argument("--project")
    p.add_argument("--metrics", help="comma-separated; all by default")
    p.add_argument("--min-effect", type=float, default=0.0)
    p.add_argument("--alpha", type=float, default=0.05)
    p.set_defaults(handler=_rule)
    p = actions.add_parser("webhook", help="where alerts go")
    hooks = p.add_subparsers(dest="webhook_action", required=True)
    p = hooks.add_parser("add", help="add a webhook; prints its signing secret once")
    p.add_argument("url")
    p.add_argument("--slack", action="store_true", help="Slack's payload ({\"text\": …})")
    p.add_argument("--allow-private", action="store_true",
                   help="allow a target on a private or loopback address")
    p.set_defaults(handler=_add)
    p = hooks.add_parser("list")
    p.set_defaults(handler=_webhooks)
    p = hooks.add_parser("remove")
    p.add_argument("webhook_id")
    p.set_defaults(handler=_remove)
