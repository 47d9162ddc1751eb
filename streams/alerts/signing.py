"""Webhook bodies signed as Stripe and Slack sign theirs: ``t=<unix seconds>,v1=<hex>``, where
the hex is HMAC-SHA256 over ``"<t>.<body>"`` with the webhook's secret. A receiver recomputes it
and refuses a timestamp older than its tolerance, so a captured request cannot be replayed.

Each webhook's secret is derived from the deployment's signing key (``DR_WEBHOOK_SIGNING_KEY``,
from the environment only) and the webhook's id: nothing secret is stored, and the secret is
shown once, when the webhook is added."""

from __future__ import annotations

import hashlib
import hmac
import time
from uuid import UUID

HEADER = "X-Domain-Runner-Signature"
TOLERANCE_S = 300


def webhook_secret(signing_key: str, webhook_id: UUID) -> str:
    return hmac.new(signing_key.encode(), f"webhook:{webhook_id}".encode(),
                    hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, now: float | None = None) -> str:
    stamp = int(time.time() if now is None else now)
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, now: float | None = None,
           tolerance_s: float = TOLERANCE_S) -> bool:
    """What a receiver does (and the tests do)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
