"""The ``feeds`` table: which news sources are polled how often, and what each last answered.
Polls are claimed in the statement that selects them, so scheduler replicas never poll one feed
at once; a poll that dies after its claim is simply due again at the next interval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import asyncpg

from streams.errors import DomainRunnerError

MIN_EVERY_S = 60


class FeedError(DomainRunnerError, ValueError):
    """A feed that cannot be registered (a URL that is not http(s), an interval under a
    minute) or is not registered."""


@dataclass(frozen=True)
class Feed:
    url: str
    every_s: int
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime
    last_polled_at: datetime | None
    last_status: int | None
    last_error: str | None
    polls: int
    unchanged_polls: int
    events_published: int


def _feed(row: asyncpg.Record) -> Feed:
    return Feed(**{name: row[name] for name in Feed.__dataclass_fields__})


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError(f"a feed is an http(s) URL, not {url[:200]!r}")
    return url.strip()


async def add_feed(pool: asyncpg.Pool, url: str, *, every_s: int, now: datetime) -> Feed:
    """Register (or re-time) a feed; its first poll is due at once."""
    if every_s < MIN_EVERY_S:
        raise FeedError(f"poll a feed at most once a minute (asked: every {every_s} s)")
    row = await pool.fetchrow(
        """INSERT INTO feeds (url, every_s, next_poll_at) VALUES ($1, $2, $3)
           ON CONFLICT (url) DO UPDATE SET every_s = EXCLUDED.every_s
           RETURNING *""", check_url(url), every_s, now)
    assert row is not None
    return _feed(row)


async def remove_feed(pool: asyncpg.Pool, url: str) -> None:
    if await pool.fetchval("DELETE FROM feeds WHERE url = $1 RETURNING true", url) is None:
        raise FeedError(f"no feed {url[:200]!r} (domain-runner feeds list)")


async def list_feeds(pool: asyncpg.Pool) -> list[Feed]:
    return [_feed(row) for row in await pool.fetch("SELECT * FROM feeds ORDER BY url")]


async def claim_due_feeds(pool: asyncpg.Pool, *, now: datetime, limit: int = 20) -> list[Feed]:
    """The feeds due at ``now``, each moved to its next interval in the same statement."""
    rows = await pool.fetch(
        """UPDATE feeds SET next_poll_at = $1 + make_interval(secs => every_s),
                            last_polled_at = $1
           WHERE url IN (SELECT url FROM feeds WHERE next_poll_at <= $1
                         ORDER BY next_poll_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING *""", now, limit)
    return [_feed(row) for row in rows]


async def record_poll(pool: asyncpg.Pool, url: str, *, status: int | None, etag: str | None,
                      last_modified: str | None, events: int, error: str | None) -> None:
    """A poll's outcome. The validators change only with a full answer (a 304 keeps them); an
    error keeps them too, so the next poll is conditional on what was last read."""
    await pool.execute(
        """UPDATE feeds SET last_status = $2, last_error = $6, polls = polls + 1,
                            unchanged_polls = unchanged_polls + coalesce(($2 = 304)::int, 0),
                            events_published = events_published + $5,
                            etag = CASE WHEN $2 BETWEEN 200 AND 299 THEN $3 ELSE etag END,
                            last_modified = CASE WHEN $2 BETWEEN 200 AND 299 THEN $4
                                                 ELSE last_modified END
           WHERE url = $1""", url, status, etag, last_modified, events, error)
