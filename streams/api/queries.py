"""What the API reads from PostgreSQL, the system of record: runs, brand scores, leaderboards,
projects, correlations, provider usage. Lists page by an opaque cursor (the last row's sort key,
base64), so a page is stable while rows are added."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts import ALL, Mode
from streams.errors import DomainRunnerError
from streams.runs.report import provider_lines
from streams.scoring import SCORING_VERSION
from streams.visibility import EXTRACTOR_VERSION, METRICS_VERSION


class BadCursor(DomainRunnerError, ValueError):
    """A cursor this API did not hand out."""


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode()


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise BadCursor("the cursor is not one this API handed out") from None
    if not isinstance(key, list) or len(key) != arity:
        raise BadCursor("the cursor is not one this API handed out")
    return key


def _page(rows: list[dict[str, Any]], limit: int, *key: str) -> dict[str, Any]:
    """``items`` (at most ``limit``) and the cursor of the next page, if any."""
    items = rows[:limit]
    more = len(rows) > limit
    return {"items": items,
            "next_cursor": encode_cursor(*(items[-1][k] for k in key)) if more else None}


def _row(record: asyncpg.Record, *json_columns: str) -> dict[str, Any]:
    row = dict(record)
    for column in json_columns:
        if isinstance(row.get(column), str):
            row[column] = json.loads(row[column])
    return row


async def list_runs(pool: asyncpg.Pool, *, limit: int, cursor: str | None) -> dict[str, Any]:
    after = decode_cursor(cursor, 2)
    rows = await pool.fetch(
        """SELECT run_id, project, prompt_set, providers, samples, status, stop_reason,
                  expected_domains, planned_domains, expected_calls, succeeded_calls,
                  failed_calls, skipped_calls, dead_lettered_calls, created_at, finished_at
           FROM runs
           WHERE $1::timestamptz IS NULL OR (created_at, run_id) < ($1, $2::uuid)
           ORDER BY created_at DESC, run_id DESC LIMIT $3""",
        datetime.fromisoformat(after[0]) if after else None,
        UUID(after[1]) if after else None, limit + 1)
    return _page([_row(r) for r in rows], limit, "created_at", "run_id")


async def brand_scores(pool: asyncpg.Pool, domain: str) -> dict[str, Any] | None:
    """The brand's scores per provider in its latest scored run."""
    rows = await pool.fetch(
        """SELECT * FROM brand_scores WHERE domain = $1 AND scoring_version = $2
             AND run_id = (SELECT run_id FROM brand_scores WHERE domain = $1
                           AND scoring_version = $2 ORDER BY run_created_at DESC LIMIT 1)
           ORDER BY provider = 'all' DESC, provider""", domain, SCORING_VERSION)
    if not rows:
        return None
    return {"domain": domain, "run_id": rows[0]["run_id"],
            "run_created_at": rows[0]["run_created_at"], "scoring_version": SCORING_VERSION,
            "scores": [_row(r, "metrics", "versions", "changes") for r in rows]}


async def brand_history(pool: asyncpg.Pool, domain: str, *, provider: str, limit: int,
                        cursor: str | None) -> dict[str, Any]:
    after = decode_cursor(cursor, 1)
    rows = await pool.fetch(
        """SELECT run_id, provider, run_created_at, samples, metrics, changes, model_versions
           FROM brand_scores WHERE domain = $1 AND provider = $2 AND scoring_version = $3
             AND ($4::timestamptz IS NULL OR run_created_at < $4)
           ORDER BY run_created_at DESC LIMIT $5""",
        domain, provider, SCORING_VERSION, datetime.fromisoformat(after[0]) if after else None,
        limit + 1)
    return _page([_row(r, "metrics", "changes") for r in rows], limit, "run_created_at")


async def leaderboard(pool: asyncpg.Pool, *, industry: str | None, provider: str,
                      limit: int | None) -> list[dict[str, Any]]:
    """Each brand's latest composite (and its components), best first; ``industry`` from the
    loaded reference facts."""
    rows = await pool.fetch(
        """SELECT DISTINCT ON (s.domain) s.domain, f.name, f.industry, s.run_id,
                  s.run_created_at, s.samples, s.metrics
           FROM brand_scores s LEFT JOIN facts f ON f.domain = s.domain
           WHERE s.provider = $1 AND s.scoring_version = $2
             AND ($3::text IS NULL OR f.industry = $3)
           ORDER BY s.domain, s.run_created_at DESC""", provider, SCORING_VERSION, industry)
    board = [_row(r, "metrics") for r in rows]
    # Unscored composites (too few samples) last, ties by domain: as the dashboard orders.
    board.sort(key=lambda r: (r["metrics"]["composite"]["value"] is None,
                              -(r["metrics"]["composite"]["value"] or 0.0), r["domain"]))
    return board if limit is None else board[:limit]


async def project_history(pool: asyncpg.Pool, project: str, *, provider: str,
                          limit: int, mode: Mode = "memory") -> list[dict[str, Any]]:
    """Each tracked brand's visibility and share of voice over the project's runs in one mode
    (memory and retrieval are two series, never one)."""
    rows = await pool.fetch(
        """SELECT run_id, run_created_at, brand, own, samples, metrics, changes
           FROM visibility_scores
           WHERE project = $1 AND provider = $2 AND topic = $3 AND prompt_id = $3
             AND extractor_version = $4 AND metrics_version = $5
             AND run_id IN (SELECT run_id FROM runs WHERE project = $1 AND mode = $7
                            ORDER BY created_at DESC LIMIT $6)
           ORDER BY run_created_at, own DESC, brand""",
        project, provider, ALL, EXTRACTOR_VERSION, METRICS_VERSION, limit, mode)
    return [_row(r, "metrics", "changes") for r in rows]


async def correlations(pool: asyncpg.Pool, *, domain: str | None, limit: int,
                       cursor: str | None) -> dict[str, Any]:
    after = decode_cursor(cursor, 2)
    rows = await pool.fetch(
        """SELECT c.*, e.headline, e.url, e.published_at, e.kind
           FROM correlations c JOIN news_events e USING (event_id)
           WHERE ($1::text IS NULL OR c.domain = $1)
             AND ($2::timestamptz IS NULL OR (c.computed_at, c.event_id) < ($2, $3::uuid))
           ORDER BY c.computed_at DESC, c.event_id DESC LIMIT $4""",
        domain, datetime.fromisoformat(after[0]) if after else None,
        UUID(after[1]) if after else None, limit + 1)
    return _page([_row(r, "before_window", "after_window") for r in rows], limit,
                 "computed_at", "event_id")


async def provider_usage(pool: asyncpg.Pool, *, since: datetime,
                         until: datetime) -> list[dict[str, Any]]:
    lines = await provider_lines(pool, "responded_at >= $1 AND responded_at < $2", since, until)
    return [asdict(line) for line in lines]


async def alerts(pool: asyncpg.Pool, *, kind: str | None, subject: str | None, limit: int,
                 cursor: str | None) -> dict[str, Any]:
    """Raised alerts, newest first, each with its evidence (the stored ``AlertRaised``)."""
    after = decode_cursor(cursor, 2)
    rows = await pool.fetch(
        """SELECT alert_id, raised_at, body FROM alerts
           WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR subject = $2)
             AND ($3::timestamptz IS NULL OR (raised_at, alert_id) < ($3, $4::uuid))
           ORDER BY raised_at DESC, alert_id DESC LIMIT $5""",
        kind, subject, datetime.fromisoformat(after[0]) if after else None,
        UUID(after[1]) if after else None, limit + 1)
    page = _page([_row(r, "body") for r in rows], limit, "raised_at", "alert_id")
    page["items"] = [row["body"] for row in page["items"]]
    return page
