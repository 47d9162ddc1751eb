"""Read news items from an RSS/Atom feed (``feedparser``) or JSONL. Every item is either
accepted or rejected with its position and a reason; duplicates (same URL) are dropped.

JSONL: one object per line with ``headline`` (or ``title``), ``url`` (or ``link``),
``published_at`` (or ``published``; ISO 8601, UTC when no offset) and optionally ``domain``,
``source``, ``kind``, ``summary``."""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import feedparser

from contracts import NEWS_KINDS, NewsKind


@dataclass(frozen=True)
class NewsItem:
    position: int  # line (JSONL) or entry number (feed), 1-based
    headline: str
    url: str
    published_at: datetime
    source: str | None = None
    summary: str | None = None
    domain: str | None = None
    kind: NewsKind | None = None


@dataclass(frozen=True)
class NewsRejection:
    position: int
    reason: str

    def __str__(self) -> str:
        return f"item {self.position}: {self.reason}"


@dataclass
class NewsFeed:
    items: list[NewsItem] = field(default_factory=list)
    rejections: list[NewsRejection] = field(default_factory=list)
    duplicates: int = 0


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, fragment dropped: one story, one id."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def is_jsonl(text: str, name: str = "") -> bool:
    if name.lower().endswith((".jsonl", ".ndjson")):
        return True
    return text.lstrip().startswith("{")


def _datetime(value: Any) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("published_at is missing")
    parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _from_json(position: int, data: Any) -> NewsItem:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    headline = _text(data.get("headline") or data.get("title"))
    url = _text(data.get("url") or data.get("link"))
    if not headline:
        raise ValueError("headline is missing")
    if not url or urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("url is missing or not http(s)")
    kind = _text(data.get("kind"))
    if kind is not None and kind not in NEWS_KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(NEWS_KINDS)}")
    return NewsItem(position=position, headline=headline, url=url,
                    published_at=_datetime(data.get("published_at") or data.get("published")),
                    source=_text(data.get("source")), summary=_text(data.get("summary")),
                    domain=_text(data.get("domain")),
                    kind=kind)


def _parse_jsonl(text: str, feed: NewsFeed) -> list[NewsItem]:
    items = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            items.append(_from_json(line, json.loads(raw)))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            feed.rejections.append(NewsRejection(line, str(exc)))
    return items


def _parse_feed(text: str, feed: NewsFeed) -> list[NewsItem]:
    parsed = feedparser.parse(text)
    if parsed.bozo and not parsed.entries:
        feed.rejections.append(NewsRejection(0, f"not a feed: {parsed.get('bozo_exception')}"))
        return []
    source = _text(parsed.feed.get("title"))
    items = []
    for number, entry in enumerate(parsed.entries, start=1):
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        headline, url = _text(entry.get("title")), _text(entry.get("link"))
        if not headline or not url:
            feed.rejections.append(NewsRejection(number, "entry without a title or link"))
        elif stamp is None:
            feed.rejections.append(NewsRejection(number, "entry without a date"))
        else:
            entry_source = entry.get("source") or {}
            items.append(NewsItem(
                position=number, headline=headline, url=url,
                # feedparser gives UTC struct_time; timegm reads it as such.
                published_at=datetime.fromtimestamp(calendar.timegm(stamp), UTC),
                source=_text(entry_source.get("title")) or source,
                summary=_text(entry.get("summary")),
            ))
    return items


def parse_news(text: str, name: str = "") -> NewsFeed:
    feed = NewsFeed()
    items = _parse_jsonl(text, feed) if is_jsonl(text, name) else _parse_feed(text, feed)
    seen: set[str] = set()
    for item in items:
        url = canonical_url(item.url)
        if url in seen:
            feed.duplicates += 1
            continue
        seen.add(url)
        feed.items.append(NewsItem(
            position=item.position, headline=item.headline, url=url,
            published_at=item.published_at, source=item.source, summary=item.summary,
            domain=item.domain, kind=item.kind))
    return feed
