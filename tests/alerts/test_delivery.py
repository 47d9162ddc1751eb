"""Alerts reach a webhook on loopback, signed so the receiver's check passes; a receiver that is
down is retried, then the alert is dead-lettered with the reason, then redriven and delivered.
Only the delivery group runs; alerts are published as the alerts group would."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from contracts import ALERTS, AlertRaised, alert_id_for
from streams.alerts import HEADER, add_webhook, verify, webhook_secret
from streams.config import Settings
from streams.kafka.broker import create_broker
from streams.ops.redrive import DeadLetter, read_dead_letters, redrive
from tests.support.groups import running_groups
from tests.support.kafka import wait_until
from tests.support.websites import serving_app

pytestmark = pytest.mark.stack

SIGNING_KEY = "test-signing-key-" + uuid.uuid4().hex


def alert(n: int) -> AlertRaised:
    return AlertRaised(
        alert_id=alert_id_for("brand_score", f"delivery-{n}.example", "openai", "mention_rate",
                              f"test-{uuid.uuid4()}"),
        kind="brand_score", subject=f"delivery-{n}.example", provider="openai",
        metric="mention_rate", previous=0.8, current=0.4, difference=-0.4, p_value=0.001,
        test="two-proportion-z", summary="mention rate fell", raised_at=datetime.now(UTC))


class Receiver:
    """Takes every alert; counts and keeps only this test's (other tests' alerts may be on the
    topic before them, and the delivery group sends those to this webhook too)."""

    def __init__(self, watch: set[uuid.UUID]) -> None:
        self.watch = watch
        self.up = True
        self.received: list[tuple[bytes, str]] = []
        self.attempts = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if AlertRaised.from_json(body).alert_id not in self.watch:
            return web.Response(status=204)
        self.attempts += 1
        if not self.up:
            return web.Response(status=503)
        self.received.append((body, request.headers.get(HEADER, "")))
        return web.Response(status=204)


async def test_signed_delivery_retry_dead_letter_and_redrive(migrated: Settings,
                                                             simulator: Any) -> None:
    settings = Settings(webhook_signing_key=SIGNING_KEY, webhook_attempts=3,
                        webhook_backoff_s=0.05, web_presence_checks=False)
    first, second = alert(1), alert(2)
    receiver = Receiver({first.alert_id, second.alert_id})
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    exits = AsyncExitStack()
    port = await exits.enter_async_context(serving_app(app))
    pool = await asyncpg.create_pool(settings.postgres.dsn.get_secret_value(), min_size=1,
                                     max_size=2)
    assert pool is not None
    broker = create_broker(settings)
    try:
        await pool.execute("UPDATE webhooks SET removed_at = now()")
        hook = await add_webhook(pool, f"http://127.0.0.1:{port}/hook", allow_private=True)
        secret = webhook_secret(SIGNING_KEY, hook.webhook_id)
        async with broker, running_groups(["alert-delivery"], settings):
            await broker.connect()
            await pool.execute(
                """INSERT INTO alerts (alert_id, kind, subject, provider, metric, body, raised_at)
                   VALUES ($1, 'brand_score', $2, 'openai', 'mention_rate', $3::jsonb, now()),
                          ($4, 'brand_score', $5, 'openai', 'mention_rate', $6::jsonb, now())""",
                first.alert_id, first.subject, first.model_dump_json(),
                second.alert_id, second.subject, second.model_dump_json())
            await broker.publish(first, ALERTS.name, key=first.subject.encode())
            await wait_until(lambda: _count(receiver, 1), timeout_s=60, what="the first alert")
            body, header = receiver.received[0]
            assert verify(secret, body, header)
            assert AlertRaised.from_json(body).alert_id == first.alert_id

            receiver.up = False
            before = receiver.attempts
            await broker.publish(second, ALERTS.name, key=second.subject.encode())

            async def dead_lettered() -> bool:
                letters = await read_dead_letters(settings.kafka.bootstrap, ALERTS.name)
                return any(_alert_id(letter) == second.alert_id for letter in letters)

            await wait_until(dead_lettered, timeout_s=60, what="the dead letter")
            assert receiver.attempts - before == 3
            letters = [letter for letter in await read_dead_letters(settings.kafka.bootstrap,
                                                                   ALERTS.name)
                       if _alert_id(letter) == second.alert_id]
            assert "3 attempts failed, the last with HTTP 503" in letters[0].message

            receiver.up = True
            await redrive(broker, letters)
            await wait_until(lambda: _count(receiver, 2), timeout_s=60, what="the redriven one")
            body, header = receiver.received[1]
            assert verify(secret, body, header)
        delivered = await pool.fetchval(
            """SELECT count(*) FROM alert_deliveries
               WHERE webhook_id = $1 AND alert_id = ANY($2::uuid[])""",
            hook.webhook_id, [first.alert_id, second.alert_id])
        assert delivered == 2
    finally:
        await pool.close()
        await exits.aclose()


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n


def _alert_id(letter: DeadLetter) -> uuid.UUID:
    return AlertRaised.from_json(letter.record.value or b"").alert_id
