"""Alerts: which significant changes count (rules), stored once, delivered to signed webhooks."""

from __future__ import annotations

from streams.alerts.delivery import Delivered, DeliveryFailed, body_for, deliver
from streams.alerts.rules import Rule, Rules, from_brand_score, from_correlation, from_visibility
from streams.alerts.signing import HEADER, sign, verify, webhook_secret
from streams.alerts.store import (
    UnknownWebhook,
    Webhook,
    active_webhooks,
    add_webhook,
    load_rules,
    remove_webhook,
    save_alerts,
    set_rule,
)

__all__ = [
    "HEADER",
    "Delivered",
    "DeliveryFailed",
    "Rule",
    "Rules",
    "UnknownWebhook",
    "Webhook",
    "active_webhooks",
    "add_webhook",
    "body_for",
    "deliver",
    "from_brand_score",
    "from_correlation",
    "from_visibility",
    "load_rules",
    "remove_webhook",
    "save_alerts",
    "set_rule",
    "sign",
    "verify",
    "webhook_secret",
]
