"""``domain-runner news ingest FILE|URL``: news items → ``news.events``, one per URL, each tied to
a known brand and classified by kind."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind

from contracts import NEWS_EVENTS, NewsEvent, news_event_id
from contracts.domain_name import InvalidDomain, normalize_domain
from producers.news_feed import NewsFeed, NewsItem, NewsRejection, parse_news
from producers.news_kinds import classify
from producers.news_match import BrandMatcher, known_brands
from streams.config import Settings
from streams.http import create_http_client
from streams.kafka import create_broker
from streams.postgres import create_pool
from streams.tracing import configure_tracing, record_span

FETCH_TIMEOUT_S = 30.0


@dataclass
class Ingested:
    events: list[NewsEvent] = field(default_factory=list)
    rejections: list[NewsRejection] = field(default_factory=list)
    duplicates: int = 0


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


async def read_source(source: str, http: httpx.AsyncClient) -> str:
    """A feed or JSONL file by path, or by URL (redirects followed: no secrets are sent)."""
    if not is_url(source):
        return await asyncio.to_thread(Path(source).read_text, encoding="utf-8")
    response = await http.get(source, follow_redirects=True, timeout=FETCH_TIMEOUT_S)
    response.raise_for_status()
    return response.text


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
            result.rejections.append(NewsRejection(item.position, f"domain {exc.reason}"))
            return None
    found = matcher.match(item.headline, item.summary)
    if found is None:
        result.rejections.append(NewsRejection(
            item.position, f"no known brand in {item.headline[:80]!r}"))
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
    """Read ``source``, tie each item to a known brand, and publish the events (unless
    ``dry_run``)."""
    pool = await create_pool(settings, max_size=2)
    try:
        matcher = BrandMatcher(await known_brands(pool))
    finally:
        await pool.close()
    http = create_http_client(timeout_s=FETCH_TIMEOUT_S)
    try:
        text = await read_source(source, http)
    finally:
        await http.aclose()
    result = ingest_text(text, source, matcher)
    if result.events and not dry_run:
        configure_tracing("domain-runner-news")
        broker = create_broker(settings)
        async with broker:
            await broker.connect()
            await publish_events(broker, result.events)
    return result
