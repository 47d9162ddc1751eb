"""The ``news_events`` and ``correlations`` tables, and the brand scores correlation reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from contracts import ALL_PROVIDERS, CorrelationFound, Metric, NewsEvent
from streams.correlation.evaluate import CORRELATION_VERSION, ScoreRow
from streams.scoring.score import SCORING_VERSION


async def save_events(pool: asyncpg.Pool, events: Sequence[NewsEvent]) -> None:
    """Idempotent by event id (the URL's UUIDv5): the first ingestion of a story wins."""
    await pool.executemany(
        """INSERT INTO news_events (event_id, domain, headline, url, source, published_at, kind,
                                    summary, ingested_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id) DO NOTHING""",
        [(e.event_id, e.domain, e.headline, e.url, e.source, e.published_at, e.kind, e.summary,
          e.ingested_at) for e in events],
    )


def _event(row: asyncpg.Record) -> NewsEvent:
    return NewsEvent(event_id=row["event_id"], domain=row["domain"], headline=row["headline"],
                     url=row["url"], source=row["source"], published_at=row["published_at"],
                     kind=row["kind"], summary=row["summary"], ingested_at=row["ingested_at"])


async def events_near(pool: asyncpg.Pool, times: Sequence[datetime],
                      window_s: float) -> list[NewsEvent]:
    """Events whose windows contain any of ``times`` (a run's creation time)."""
    rows = await pool.fetch(
        """SELECT DISTINCT e.* FROM news_events e, unnest($1::timestamptz[]) AS t(at)
           WHERE e.published_at BETWEEN t.at - make_interval(secs => $2)
                                    AND t.at + make_interval(secs => $2)
           ORDER BY e.published_at, e.event_id""",
        list(times), window_s)
    return [_event(row) for row in rows]


async def stored_events(pool: asyncpg.Pool, event_ids: Sequence[Any]) -> list[NewsEvent]:
    rows = await pool.fetch(
        "SELECT * FROM news_events WHERE event_id = ANY($1::uuid[]) ORDER BY event_id",
        list(event_ids))
    return [_event(row) for row in rows]


async def scores_around(pool: asyncpg.Pool, published_at: datetime,
                        window_s: float) -> list[ScoreRow]:
    """Every provider's scores of every brand from runs created within the window of an event
    published at ``published_at``, oldest first."""
    window = timedelta(seconds=window_s)
    rows = await pool.fetch(
        """SELECT domain, provider, run_id, run_created_at, model_versions, metrics::text
           FROM brand_scores
           WHERE scoring_version = $1 AND provider <> $2
             AND run_created_at >= $3 AND run_created_at <= $4
           ORDER BY run_created_at, run_id, domain, provider""",
        SCORING_VERSION, ALL_PROVIDERS, published_at - window, published_at + window)
    return [
        ScoreRow(domain=row["domain"], provider=row["provider"], run_id=row["run_id"],
                 run_created_at=row["run_created_at"],
                 model_versions=tuple(row["model_versions"]),
                 metrics={name: Metric.model_validate(value)
                          for name, value in json.loads(row["metrics"]).items()})
        for row in rows
    ]


def _fingerprint(c: CorrelationFound) -> tuple[Any, ...]:
    """What makes a re-evaluation news worth publishing."""
    return (c.verdict, c.effect, c.p_value, c.before.n, c.after.n, c.before.runs, c.after.runs)


async def unchanged(pool: asyncpg.Pool, found: Sequence[CorrelationFound]) -> set[tuple[Any, ...]]:
    """Keys (event, provider, metric) whose stored row already says the same."""
    rows = await pool.fetch(
        """SELECT event_id, provider, metric, verdict, effect, p_value, before_window::text,
                  after_window::text
           FROM correlations WHERE event_id = ANY($1::uuid[]) AND correlation_version = $2""",
        list({c.event_id for c in found}), CORRELATION_VERSION)
    stored = {}
    for row in rows:
        before, after = json.loads(row["before_window"]), json.loads(row["after_window"])
        stored[(row["event_id"], row["provider"], row["metric"])] = (
            row["verdict"], row["effect"], row["p_value"], before["n"], after["n"],
            before["runs"], after["runs"])
    return {(c.event_id, c.provider, c.metric) for c in found
            if stored.get((c.event_id, c.provider, c.metric)) == _fingerprint(c)}


async def upsert_correlations(pool: asyncpg.Pool, found: Sequence[CorrelationFound]) -> None:
    await pool.executemany(
        """INSERT INTO correlations (event_id, provider, metric, correlation_version, domain,
               verdict, effect, effect_low, effect_high, p_value, test, before_window,
               after_window, reason, computed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14,
                   $15)
           ON CONFLICT (event_id, provider, metric, correlation_version) DO UPDATE SET
               verdict = EXCLUDED.verdict, effect = EXCLUDED.effect,
               effect_low = EXCLUDED.effect_low, effect_high = EXCLUDED.effect_high,
               p_value = EXCLUDED.p_value, test = EXCLUDED.test,
               before_window = EXCLUDED.before_window, after_window = EXCLUDED.after_window,
               reason = EXCLUDED.reason, computed_at = EXCLUDED.computed_at""",
        [(c.event_id, c.provider, c.metric, c.correlation_version, c.domain, c.verdict, c.effect,
          c.effect_low, c.effect_high, c.p_value, c.test, c.before.model_dump_json(),
          c.after.model_dump_json(), c.reason, c.computed_at) for c in found],
    )
