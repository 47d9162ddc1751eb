"""Alerts, rules, webhooks and deliveries in PostgreSQL. An alert is stored once (its id is
derived from what it is about); a delivery is recorded once per (alert, webhook), so a
redelivered or redriven alert reaches only the webhooks that did not get it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from contracts import AlertRaised, BrandScore
from streams.alerts.rules import ALL_METRICS, Rule, Rules
from streams.errors import DomainRunnerError

WebhookFormat = Literal["json", "slack"]


class UnknownWebhook(DomainRunnerError, LookupError):
    """No webhook with that id."""


@dataclass(frozen=True)
class Webhook:
    webhook_id: uuid.UUID
    url: str
    format: WebhookFormat
    allow_private: bool
    created_at: datetime


async def save_alerts(pool: asyncpg.Pool, alerts: Sequence[AlertRaised]) -> set[uuid.UUID]:
    """Store the alerts; return the ids stored now (a replayed one is already there)."""
    if not alerts:
        return set()
    rows = await pool.fetch(
        """INSERT INTO alerts (alert_id, kind, subject, project, brand, provider, metric, body,
                               raised_at)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                                $6::text[], $7::text[], $8::jsonb[], $9::timestamptz[])
           ON CONFLICT (alert_id) DO NOTHING RETURNING alert_id""",
        [a.alert_id for a in alerts], [a.kind for a in alerts], [a.subject for a in alerts],
        [a.project for a in alerts], [a.brand for a in alerts], [a.provider for a in alerts],
        [a.metric for a in alerts], [a.model_dump_json() for a in alerts],
        [a.raised_at for a in alerts])
    return {row["alert_id"] for row in rows}


async def previous_model_versions(
    pool: asyncpg.Pool, scores: Sequence[BrandScore]
) -> dict[tuple[uuid.UUID, str, str], tuple[str, ...]]:
    """The model versions each score's previous run reported, by (previous run, domain,
    provider): what a model change is told from."""
    earlier = [s for s in scores if s.previous_run_id is not None]
    if not earlier:
        return {}
    rows = await pool.fetch(
        """SELECT b.run_id, b.domain, b.provider, b.model_versions
           FROM brand_scores b
           JOIN unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS w(run_id, domain,
                provider, scoring_version)
             ON (b.run_id, b.domain, b.provider, b.scoring_version)
                = (w.run_id, w.domain, w.provider, w.scoring_version)""",
        [s.previous_run_id for s in earlier], [s.domain for s in earlier],
        [s.provider for s in earlier], [s.scoring_version for s in earlier])
    return {(row["run_id"], row["domain"], row["provider"]): tuple(row["model_versions"])
            for row in rows}


async def load_rules(pool: asyncpg.Pool) -> Rules:
    rows = await pool.fetch("SELECT * FROM alert_rules ORDER BY scope")
    rules = [Rule(project=None if row["scope"] == "global" else row["scope"].split(":", 1)[1],
                  metrics=tuple(row["metrics"]), min_effect=row["min_effect"],
                  alpha=row["alpha"]) for row in rows]
    return Rules(rules) if rules else Rules()


async def set_rule(pool: asyncpg.Pool, *, project: str | None, metrics: Sequence[str] = (
        ALL_METRICS,), min_effect: float = 0.0, alpha: float = 0.05) -> None:
    await pool.execute(
        """INSERT INTO alert_rules (scope, metrics, min_effect, alpha) VALUES ($1, $2, $3, $4)
           ON CONFLICT (scope) DO UPDATE SET metrics = EXCLUDED.metrics,
               min_effect = EXCLUDED.min_effect, alpha = EXCLUDED.alpha, updated_at = now()""",
        "global" if project is None else f"project:{project}", list(metrics), min_effect, alpha)


async def add_webhook(pool: asyncpg.Pool, url: str, *, format: WebhookFormat = "json",
                      allow_private: bool = False) -> Webhook:
    row = await pool.fetchrow(
        """INSERT INTO webhooks (webhook_id, url, format, allow_private) VALUES ($1, $2, $3, $4)
           RETURNING *""", uuid.uuid4(), url, format, allow_private)
    assert row is not None
    return _webhook(row)


async def active_webhooks(pool: asyncpg.Pool) -> list[Webhook]:
    rows = await pool.fetch("SELECT * FROM webhooks WHERE removed_at IS NULL ORDER BY created_at")
    return [_webhook(row) for row in rows]


async def remove_webhook(pool: asyncpg.Pool, webhook_id: uuid.UUID) -> None:
    if not await pool.fetchval(
            """UPDATE webhooks SET removed_at = now() WHERE webhook_id = $1
               AND removed_at IS NULL RETURNING true""", webhook_id):
        raise UnknownWebhook(f"no webhook {webhook_id}")


async def delivered_to(pool: asyncpg.Pool, alert_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await pool.fetch("SELECT webhook_id FROM alert_deliveries WHERE alert_id = $1",
                            alert_id)
    return {row["webhook_id"] for row in rows}


async def record_delivery(pool: asyncpg.Pool, alert_id: uuid.UUID, webhook_id: uuid.UUID, *,
                          status: int, attempts: int) -> None:
    await pool.execute(
        """INSERT INTO alert_deliveries (alert_id, webhook_id, status, attempts)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        alert_id, webhook_id, status, attempts)


def _webhook(row: asyncpg.Record) -> Webhook:
    return Webhook(webhook_id=row["webhook_id"], url=row["url"], format=row["format"],
                   allow_private=row["allow_private"], created_at=row["created_at"])
