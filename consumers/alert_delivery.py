"""Consumer group ``alert-delivery``: sends each alert to every webhook that has not had it,
signed, with retries; an alert a webhook would not take after the last attempt goes to
``alerts.dlt`` with the reason, and a redrive sends it again to those that still miss it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from contracts import ALERTS, AlertRaised
from streams.alerts.delivery import DeliveryFailed, deliver
from streams.alerts.signing import webhook_secret
from streams.alerts.store import active_webhooks, delivered_to, record_delivery
from streams.inputs.safe_fetch import SafeFetcher, public_resolver, system_resolver
from streams.kafka.dead_letters import DeadLetters
from streams.kafka.records import Envelope
from streams.runtime.consume import Batch, Confirmations, consume_batches
from streams.runtime.resources import Resources

GROUP = "alert-delivery"


def register(resources: Resources) -> None:
    broker, pool, settings = resources.broker, resources.pool, resources.settings
    dead_letters = DeadLetters(broker, group=GROUP)
    client = httpx.AsyncClient(follow_redirects=False)
    checked = SafeFetcher(client, resolver=public_resolver(settings.web_presence_hosts))
    anywhere = SafeFetcher(client, resolver=system_resolver)
    signing_key = settings.webhook_signing_key.get_secret_value()

    async def send(envelope: Envelope[AlertRaised]) -> asyncio.Future[Any] | None:
        alert = envelope.value
        done = await delivered_to(pool, alert.alert_id)
        failures = []
        for webhook in await active_webhooks(pool):
            if webhook.webhook_id in done:
                continue
            fetcher = anywhere if webhook.allow_private else checked
            try:
                sent = await deliver(alert, webhook,
                                     webhook_secret(signing_key, webhook.webhook_id), fetcher,
                                     attempts=settings.webhook_attempts,
                                     base_s=settings.webhook_backoff_s)
            except DeliveryFailed as exc:
                failures.append(str(exc))
                continue
            await record_delivery(pool, alert.alert_id, webhook.webhook_id,
                                  status=sent.status, attempts=sent.attempts)
        if not failures:
            return None
        return await dead_letters.send(envelope.record, stage="deliver",
                                       error=DeliveryFailed("; ".join(failures)),
                                       attempts=settings.webhook_attempts)

    @consume_batches(resources, group=GROUP, topics=(ALERTS,), dead_letters=dead_letters)
    async def alert_delivery(batch: Batch) -> Confirmations:
        sent = await asyncio.gather(*(send(e) for e in batch.of(AlertRaised)))
        return [future for future in sent if future is not None]
