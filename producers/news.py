"""``domain-runner news ingest FILE|URL``: news items → ``news.events``, one per URL, each tied to
a known brand and classified by kind."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind

from contracts import NEWS_EVENTS, NewsEvent, news_event_id
from contracts.domain_name import InvalidDomain, normalize_domain
from producers.news_feed import (
    MAX_FEED_BYTES,
    NewsFeed,
    NewsItem,
    NewsRejection,
    parse_news,
    read_news,
)
from producers.news_kinds import classify
from producers.news_match import BrandMatcher, known_brands
from streams.config import Settings
from streams.inputs.safe_fetch import FetchError, SafeFetcher, public_resolver
from streams.inputs.text_input import InputError, open_input
from streams.kafka.broker import create_broker
from streams.runtime.http import create_http_client
from streams.runtime.postgres import create_pool
from streams.runtime.tracing import configure_tracing, record_span

FETCH_TIMEOUT_S = 30.0
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
           "application/x-ndjson;q=0.9, */*;q=0.5")


@dataclass
class Ingested:
    events: list[NewsEvent] = field(default_factory=list)
    rejections: list[NewsRejection] = field(default_factory=list)
    duplicates: int = 0


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_file(path: str) -> NewsFeed:
    """A feed or JSONL file; ``InputError`` when it cannot be read at all."""
    with open_input(path) as handle:
        return read_news(handle, path)


async def fetch_source(url: str, fetcher: SafeFetcher) -> NewsFeed:
    """A feed or JSONL document by URL, through the safe fetcher (public addresses only,
    redirects checked, the body capped at ``MAX_FEED_BYTES``); ``InputError`` naming the URL
    when it cannot be fetched."""
    try:
        reply = await fetcher.get(url, accept=FEED_ACCEPT)
    except FetchError as exc:
        raise InputError(f"{url}: {exc}") from None
    except httpx.HTTPError as exc:
        raise InputError(f"{url}: {type(exc).__name__}: {exc}".rstrip(": ")) from None
    if not 200 <= reply.status < 300:
        raise InputError(f"{url}: HTTP {reply.status}")
    if reply.truncated:
        raise InputError(f"{url}: larger than {fetcher.max_body_bytes} bytes (the limit "
                         f"for a news source)")
    return read_news(io.BytesIO(reply.body), url)


async def read_source(source: str, settings: Settings) -> NewsFeed:
    """``source`` by path or URL. URLs go through ``DR_WEB_PRESENCE_HOSTS`` like every outside
    fetch (the one way to reach a server on loopback)."""
    if not is_url(source):
        return await asyncio.to_thread(read_file, source)
    http = create_http_client(timeout_s=FETCH_TIMEOUT_S)
    try:
        return await fetch_source(source, feed_fetcher(http, settings))
    finally:
        await http.aclose()


def feed_fetcher(http: httpx.AsyncClient, settings: Settings) -> SafeFetcher:
    """How news sources are fetched (``news ingest URL`` and the polled feeds): public
    addresses only, but for the hosts ``DR_WEB_PRESENCE_HOSTS`` maps; bodies capped."""
    return SafeFetcher(http, resolver=public_resolver(settings.web_presence_hosts),
                       request_timeout_s=FETCH_TIMEOUT_S, total_timeout_s=FETCH_TIMEOUT_S,
                       max_body_bytes=MAX_FEED_BYTES)


def to_events(feed: NewsFeed, matcher: BrandMatcher, *, ingested_at: datetime) -> Ingested:
    """The feed's items as events: the given domain or the brand named in the headline, the
    given kind or the keyword rules' one. An item tied to no known brand is rejected."""
    result = Ingested(rejections=list(feed.rejections), duplicates=feed.duplicates)
    for item in feed.items:
        domain = _domain(item, matcher, result)
        if domain is None:
            continue
        result.events.append(NewsEvent(
            event_id=news_event_id(item.url), domain=domain, headline=item.headline,
            url=item.url, source=item.source, published_at=item.published_at,
            kind=item.kind or classify(item.headline, item.summary),
            summary=item.summary, ingested_at=ingested_at,
        ))
    return result


def _domain(item: NewsItem, matcher: BrandMatcher, result: Ingested) -> str | None:
    if item.domain:
        try:
            return normalize_domain(item.domain)
        except InvalidDomain as exc:
            result.rejections.append(
                NewsRejection(item.position, f"domain {exc.reason}", item.unit))
            return None
    found = matcher.match(item.headline, item.summary)
    if found is None:
        result.rejections.append(NewsRejection(
            item.position, f"no known brand in {item.headline[:80]!r}", item.unit))
    return found


async def publish_events(broker: KafkaBroker, events: list[NewsEvent]) -> None:
    """Keyed by domain, not awaited one by one; returns once the broker acknowledged all."""
    pending = []
    for event in events:
        with record_span("publish news", {}, kind=SpanKind.PRODUCER, domain=event.domain):
            pending.append(await broker.publish(
                event, NEWS_EVENTS.name, key=event.domain.encode(),
                correlation_id=str(event.event_id), no_confirm=True))
    await asyncio.gather(*pending)


def ingest_text(text: str, name: str, matcher: BrandMatcher) -> Ingested:
    return to_events(parse_news(text, name), matcher, ingested_at=datetime.now(UTC))


async def ingest(source: str, settings: Settings, *, dry_run: bool = False) -> Ingested:
    """Read ``source`` (first, so an unreadable one fails before anything connects), tie each
    item to a known brand, and publish the events (unless ``dry_run``). ``InputError`` when the
    source cannot be read at all."""
    feed = await read_source(source, settings)
    if not feed.items:  # nothing to tie to a brand: no need for the database
        return Ingested(rejections=list(feed.rejections), duplicates=feed.duplicates)
    pool = await create_pool(settings, max_size=2)
    try:
        matcher = BrandMatcher(await known_brands(pool))
    finally:
        await pool.close()
    result = to_events(feed, matcher, ingested_at=datetime.now(UTC))
    if result.events and not dry_run:
        configure_tracing("domain-runner-news")
        broker = create_broker(settings)
        async with broker:
            await broker.connect()
            await publish_events(broker, result.events)
    return result
