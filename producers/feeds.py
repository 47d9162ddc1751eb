"""Polling the registered news feeds (the scheduler process does it each tick): a conditional
GET per due feed through the safe fetcher, its items tied to known brands and published to
``news.events`` as ``news ingest`` does. A feed that has not changed answers 304 and costs no
parsing; an event's id is its URL's, so an item seen again changes nothing downstream."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
from faststream.kafka import KafkaBroker

from producers.news import FEED_ACCEPT, publish_events, to_events
from producers.news_feed import read_news
from producers.news_match import BrandMatcher, known_brands
from streams.feeds import Feed, claim_due_feeds, record_poll
from streams.inputs.safe_fetch import FetchError, SafeFetcher
from streams.inputs.text_input import InputError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Polled:
    url: str
    status: int | None  # None: no answer (refused, unreachable, timed out)
    events: int
    rejected: int
    error: str | None


async def poll_feed(feed: Feed, fetcher: SafeFetcher, matcher: BrandMatcher,
                    broker: KafkaBroker, pool: asyncpg.Pool) -> Polled:
    validators = {name: value for name, value in (("If-None-Match", feed.etag),
                                                  ("If-Modified-Since", feed.last_modified))
                  if value}
    status: int | None = None
    etag, modified = feed.etag, feed.last_modified
    events, rejected, error = 0, 0, None
    try:
        reply = await fetcher.get(feed.url, accept=FEED_ACCEPT, headers=validators)
        status = reply.status
        if reply.status == 304:
            pass
        elif not 200 <= reply.status < 300:
            error = f"HTTP {reply.status}"
        elif reply.truncated:
            error = f"larger than {fetcher.max_body_bytes} bytes (the limit for a news source)"
        else:
            read = to_events(read_news(io.BytesIO(reply.body), feed.url), matcher,
                             ingested_at=datetime.now(UTC))
            await publish_events(broker, read.events)
            events, rejected = len(read.events), len(read.rejections)
            etag, modified = reply.headers.get("etag"), reply.headers.get("last-modified")
    except (FetchError, InputError, httpx.HTTPError) as exc:
        error = f"{type(exc).__name__}: {exc}".rstrip(": ")[:500]
    if error and status is not None and 200 <= status < 300:
        status = None  # read but unusable: keep the validators of the last good answer
    await record_poll(pool, feed.url, status=status, etag=etag, last_modified=modified,
                      events=events, error=error)
    if error:
        logger.warning("feed %s: %s", feed.url, error)
    return Polled(feed.url, status, events, rejected, error)


async def poll_due_feeds(pool: asyncpg.Pool, broker: KafkaBroker, fetcher: SafeFetcher, *,
                         now: datetime) -> list[Polled]:
    """Poll every feed due at ``now``; one feed's failure never stops the others."""
    due = await claim_due_feeds(pool, now=now)
    if not due:
        return []
    matcher = BrandMatcher(await known_brands(pool))
    polled = [await poll_feed(feed, fetcher, matcher, broker, pool) for feed in due]
    for outcome in polled:
        if outcome.events:
            logger.info("feed %s: %d news events published", outcome.url, outcome.events)
    return polled
