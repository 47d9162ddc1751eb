"""Read news items from an RSS/Atom feed (``feedparser``) or JSONL. Every item is either
accepted or rejected with its position and a reason; duplicates (same URL) are dropped.

JSONL: one object per line with ``headline`` (or ``title``), ``url`` (or ``link``),
``published_at`` (or ``published``; ISO 8601, UTC when no offset) and optionally ``domain``,
``source``, ``kind``, ``summary``. It is read a line at a time (``streams.text_input``): a line
too long or not UTF-8 is rejected with its number. A feed is an XML document, parsed whole: it
may be at most ``MAX_FEED_BYTES`` and must be in the encoding it declares (UTF-8 by default),
else the whole source is refused (``InputError``).

Limits per item: a headline ``MAX_HEADLINE_CHARS``, a URL ``MAX_URL_CHARS`` (longer: rejected);
the source and summary are cut to ``MAX_SOURCE_CHARS`` and ``MAX_SUMMARY_CHARS``."""

from __future__ import annotations

import calendar
import io
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import urlsplit, urlunsplit

import feedparser

from contracts import NEWS_KINDS, NewsKind
from streams.inputs.text_input import InputError, Line, read_lines

# A headline is a sentence; 500 characters allows the longest while refusing a pasted article.
MAX_HEADLINE_CHARS = 500
# The de facto limit of URLs that work everywhere (the sitemaps protocol's, old browsers').
MAX_URL_CHARS = 2048
MAX_SOURCE_CHARS = 200
# Matching and classification read the start of a summary; full-text feeds put whole articles.
MAX_SUMMARY_CHARS = 5000
# A feed carries the latest few dozen items, typically well under 1 MB.
MAX_FEED_BYTES = 4 * 1024 * 1024


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
    unit: str = "item"  # what position counts: "line" (JSONL) or "item" (feed)


@dataclass(frozen=True)
class NewsRejection:
    position: int
    reason: str
    unit: str = "item"  # "line" in JSONL, "item" (the entry's number) in a feed

    def __str__(self) -> str:
        return f"{self.unit} {self.position}: {self.reason}"


@dataclass
class NewsFeed:
    items: list[NewsItem] = field(default_factory=list)
    rejections: list[NewsRejection] = field(default_factory=list)
    duplicates: int = 0


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, fragment dropped: one story, one id."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def _datetime(value: Any) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("published_at is missing")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"published_at {value.strip()[:40]!r} is not an ISO 8601 date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value: Any, limit: int | None = None) -> str | None:
    """Stripped text, None when blank or not text; cut to ``limit`` characters if given."""
    text = value.strip() or None if isinstance(value, str) else None
    return text[:limit].rstrip() if text and limit else text


def _identity(headline: str | None, url: str | None) -> tuple[str, str]:
    """The headline and URL, which identify a story: refused when missing or too long."""
    if not headline:
        raise ValueError("headline is missing")
    if len(headline) > MAX_HEADLINE_CHARS:
        raise ValueError(f"headline of {len(headline)} characters "
                         f"(the limit is {MAX_HEADLINE_CHARS})")
    if not url or urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("url is missing or not http(s)")
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"url of {len(url)} characters (the limit is {MAX_URL_CHARS})")
    return headline, url


def _from_json(position: int, data: Any) -> NewsItem:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    headline, url = _identity(_text(data.get("headline") or data.get("title")),
                              _text(data.get("url") or data.get("link")))
    kind = _text(data.get("kind"))
    if kind is not None and kind not in NEWS_KINDS:
        raise ValueError(f"kind {kind[:40]!r} is not one of {', '.join(NEWS_KINDS)}")
    return NewsItem(position=position, headline=headline, url=url,
                    published_at=_datetime(data.get("published_at") or data.get("published")),
                    source=_text(data.get("source"), MAX_SOURCE_CHARS),
                    summary=_text(data.get("summary"), MAX_SUMMARY_CHARS),
                    domain=_text(data.get("domain")),
                    kind=kind, unit="line")


def _parse_jsonl(lines: Iterable[Line], feed: NewsFeed) -> list[NewsItem]:
    items = []
    for line in lines:
        if line.error:
            feed.rejections.append(NewsRejection(line.number, line.error, "line"))
            continue
        if not line.text.strip():
            continue
        try:
            items.append(_from_json(line.number, json.loads(line.text)))
        except json.JSONDecodeError as exc:
            feed.rejections.append(NewsRejection(
                line.number, f"not JSON ({exc.msg} at column {exc.colno})", "line"))
        except ValueError as exc:
            feed.rejections.append(NewsRejection(line.number, str(exc), "line"))
    return items


def _parse_feed(data: bytes, name: str, feed: NewsFeed) -> list[NewsItem]:
    if not data.strip():
        raise InputError(f"{name}: empty")
    # A stream, never a string: feedparser fetches a string that looks like a URL and opens one
    # that names a file.
    parsed = feedparser.parse(io.BytesIO(data))
    problem = parsed.get("bozo_exception")
    if isinstance(problem, feedparser.CharacterEncodingOverride):
        raise InputError(f"{name}: not in the encoding it declares (UTF-8 unless the XML "
                         f"declaration names another)")
    if parsed.bozo and not parsed.entries:
        raise InputError(f"{name}: not an RSS or Atom feed ({problem})")
    source = _text(parsed.feed.get("title"), MAX_SOURCE_CHARS)
    items = []
    for number, entry in enumerate(parsed.entries, start=1):
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        headline, url = _text(entry.get("title")), _text(entry.get("link"))
        if not headline or not url:
            feed.rejections.append(NewsRejection(number, "entry without a title or link"))
            continue
        if stamp is None:
            feed.rejections.append(NewsRejection(number, "entry without a date"))
            continue
        try:
            headline, url = _identity(headline, url)
        except ValueError as exc:
            feed.rejections.append(NewsRejection(number, str(exc)))
            continue
        entry_source = entry.get("source") or {}
        items.append(NewsItem(
            position=number, headline=headline, url=url,
            # feedparser gives UTC struct_time; timegm reads it as such.
            published_at=datetime.fromtimestamp(calendar.timegm(stamp), UTC),
            source=_text(entry_source.get("title"), MAX_SOURCE_CHARS) or source,
            summary=_text(entry.get("summary"), MAX_SUMMARY_CHARS),
        ))
    return items


def read_news(handle: BinaryIO, name: str) -> NewsFeed:
    """A JSONL file (by its name, or when its first line starts with ``{``), else an RSS/Atom
    feed; ``InputError`` (naming ``name``) when the source cannot be read at all."""
    feed = NewsFeed()
    lines = read_lines(handle, name)
    head: list[Line] = []
    for line in lines:  # up to the first line with text: it says which format this is
        head.append(line)
        if line.text.strip():
            break
    if name.lower().endswith((".jsonl", ".ndjson")) or (
            head and head[-1].text.lstrip().startswith("{")):
        items = _parse_jsonl(itertools.chain(head, lines), feed)
        if not items and not feed.rejections:
            raise InputError(f"{name}: empty")
    else:
        try:
            handle.seek(0)
        except OSError:  # a pipe
            raise InputError(f"{name}: a feed must be a file or a URL") from None
        data = handle.read(MAX_FEED_BYTES + 1)
        if len(data) > MAX_FEED_BYTES:
            raise InputError(f"{name}: larger than {MAX_FEED_BYTES} bytes (the limit for a feed, "
                             f"which is read whole)")
        items = _parse_feed(data, name, feed)
    return _deduplicated(items, feed)


def parse_news(text: str, name: str = "text") -> NewsFeed:
    """``read_news`` on text already in memory."""
    return read_news(io.BytesIO(text.encode()), name)


def _deduplicated(items: list[NewsItem], feed: NewsFeed) -> NewsFeed:
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
            domain=item.domain, kind=item.kind, unit=item.unit))
    return feed
