"""News feeds polled on their own schedule, with time injected: a loopback feed server that
honours ETag and Last-Modified; the first poll publishes its items, a poll before the interval
does not happen, the next one is conditional and answered 304 (nothing read, nothing
published), and a changed feed is read again. A refused address is recorded, never fetched."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import asyncpg
import pytest
from aiohttp import web

from contracts import NEWS_EVENTS
from producers.feeds import poll_due_feeds
from producers.news import feed_fetcher
from streams.config import Settings
from streams.feeds import add_feed, list_feeds
from streams.kafka.broker import create_broker
from streams.kafka.topic_reader import read_records
from streams.runtime.http import create_http_client
from tests.support.websites import serving_app

pytestmark = pytest.mark.stack

BRAND, NAME = "feedtest-coffee.example", "Feedtest Coffee"


def rss(items: list[tuple[str, str]]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<pubDate>Tue, 01 Dec 2026 08:00:00 GMT</pubDate></item>" for title, link in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>wire</title>'
            f"{entries}</channel></rss>")


@dataclass
class FeedServer:
    url: str = ""
    version: int = 1
    items: list[tuple[str, str]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    changed_at: datetime = datetime(2026, 12, 1, 8, tzinfo=UTC)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.headers))
        etag = f'"v{self.version}"'
        modified = format_datetime(self.changed_at, usegmt=True)
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(text=rss(self.items), content_type="application/rss+xml",
                            headers={"ETag": etag, "Last-Modified": modified})


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    server = FeedServer(items=[(f"{NAME} opens its first roastery", "https://wire.test/roastery")])
    app = web.Application()
    app.router.add_get("/feed.xml", server.handle)
    async with serving_app(app) as port:
        server.url = f"http://{port}.feeds.test/feed.xml"
        yield server


async def published_urls(settings: Settings) -> list[str]:
    return [json.loads(record.value)["url"]
            async for record in read_records(settings.kafka.bootstrap, [NEWS_EVENTS.name])
            if record.value and b"wire.test" in record.value]


async def test_feeds_are_polled_conditionally_on_their_own_interval(
    migrated: Settings, feed_server: FeedServer
) -> None:
    port = feed_server.url.split("//")[1].split(".")[0]
    # The feed's host mapped to loopback, the one way the safe fetcher reaches it.
    settings = Settings(web_presence_hosts={f"{port}.feeds.test": f"127.0.0.1:{port}"})
    pool = await asyncpg.create_pool(settings.postgres.dsn.get_secret_value(), min_size=1,
                                     max_size=2)
    assert pool is not None
    http = create_http_client(timeout_s=10)
    broker = create_broker(settings)
    t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
    try:
        await pool.execute(
            """INSERT INTO domains (domain, name) VALUES ($1, $2)
               ON CONFLICT (domain) DO NOTHING""", BRAND, NAME)  # a brand this deployment knows
        await add_feed(pool, feed_server.url, every_s=900, now=t0)
        await add_feed(pool, "http://10.0.0.1/internal.xml", every_s=900, now=t0)
        fetcher = feed_fetcher(http, settings)
        async with broker:
            await broker.connect()
            first = await poll_due_feeds(pool, broker, fetcher, now=t0)
            early = await poll_due_feeds(pool, broker, fetcher, now=t0 + timedelta(minutes=5))
            unchanged = await poll_due_feeds(pool, broker, fetcher, now=t0 + timedelta(minutes=15))
            feed_server.version = 2
            feed_server.changed_at += timedelta(hours=1)
            feed_server.items.append((f"{NAME} recalls a seasonal syrup",
                                      "https://wire.test/recall"))
            changed = await poll_due_feeds(pool, broker, fetcher, now=t0 + timedelta(minutes=30))
        feeds = {feed.url: feed for feed in await list_feeds(pool)}
        urls = await published_urls(settings)
    finally:
        await http.aclose()
        await pool.execute("DELETE FROM feeds WHERE url = ANY($1::text[])",
                           [feed_server.url, "http://10.0.0.1/internal.xml"])
        await pool.close()

    ours = {p.url: p for p in first}
    assert (ours[feed_server.url].status, ours[feed_server.url].events) == (200, 1)
    refused = ours["http://10.0.0.1/internal.xml"]
    assert refused.status is None and "10.0.0.1" in (refused.error or "")
    assert early == []  # not due before its interval
    by_url = {p.url: p for p in unchanged}
    assert (by_url[feed_server.url].status, by_url[feed_server.url].events) == (304, 0)
    assert {p.url: (p.status, p.events) for p in changed}[feed_server.url] == (200, 2)
    # The server saw no validators the first time, then the ones it had sent.
    assert "If-None-Match" not in feed_server.requests[0]
    assert feed_server.requests[1]["If-None-Match"] == '"v1"'
    assert feed_server.requests[1]["If-Modified-Since"] == "Tue, 01 Dec 2026 08:00:00 GMT"
    assert feed_server.requests[2]["If-None-Match"] == '"v1"'
    assert len(feed_server.requests) == 3
    feed = feeds[feed_server.url]
    assert (feed.polls, feed.unchanged_polls, feed.events_published, feed.etag) == (
        3, 1, 3, '"v2"')
    assert feeds["http://10.0.0.1/internal.xml"].last_error
    assert urls.count("https://wire.test/roastery") == 2 and "https://wire.test/recall" in urls
