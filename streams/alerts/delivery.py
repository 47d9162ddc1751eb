"""Delivering an alert to a webhook: the body (our JSON, or Slack's ``{"text": …}``) signed
(``signing.py``), POSTed through the safe-fetch rules (a target that resolves to a private
address is refused unless the webhook was added with ``--allow-private``), retried with
exponential back-off on a network error, a 429 or a 5xx, and given up after the last attempt
with the reason (the consumer then dead-letters the alert, from where it can be redriven)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from contracts import AlertRaised
from streams.alerts.signing import HEADER, sign
from streams.alerts.store import Webhook
from streams.errors import DomainRunnerError
from streams.inputs.safe_fetch import FetchError, SafeFetcher

Sleep = Callable[[float], Awaitable[None]]


class DeliveryFailed(DomainRunnerError, RuntimeError):
    """Every attempt failed; the message says how the last one did."""


@dataclass(frozen=True)
class Delivered:
    status: int
    attempts: int


def body_for(alert: AlertRaised, webhook: Webhook) -> bytes:
    if webhook.format == "slack":
        return json.dumps({"text": f"Domain Runner alert: {alert.summary}"}).encode()
    return alert.to_json()


async def deliver(alert: AlertRaised, webhook: Webhook, secret: str, fetcher: SafeFetcher, *,
                  attempts: int = 4, base_s: float = 1.0,
                  sleep: Sleep = asyncio.sleep) -> Delivered:
    body = body_for(alert, webhook)
    reason = ""
    for attempt in range(1, attempts + 1):
        headers = {"content-type": "application/json", HEADER: sign(secret, body),
                   "x-domain-runner-alert": str(alert.alert_id)}
        try:
            status = await fetcher.post(webhook.url, body=body, headers=headers)
        except FetchError as exc:  # refused by policy: no retry changes that
            raise DeliveryFailed(f"{webhook.url}: {exc}") from None
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= status < 300:
                return Delivered(status=status, attempts=attempt)
            reason = f"HTTP {status}"
            if status < 500 and status != 429:
                raise DeliveryFailed(f"{webhook.url} answered {reason}; not retried")
        if attempt < attempts:
            await sleep(base_s * 2 ** (attempt - 1))
    raise DeliveryFailed(f"{webhook.url}: {attempts} attempts failed, the last with {reason}")
