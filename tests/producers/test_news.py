"""News ingestion: RSS, Atom and JSONL into events tied to known brands, classified, one per URL."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from contracts import NEWS_EVENTS, NewsEvent, news_event_id
from producers.news import ingest, to_events
from producers.news_feed import parse_news
from producers.news_kinds import classify
from producers.news_match import BrandMatcher, KnownBrand
from streams.config import Settings
from streams.kafka.topic_reader import read_records

BRANDS = BrandMatcher([
    KnownBrand("apple.com", "Apple", ("Apple Inc.",)),
    KnownBrand("meta.com", "Meta Platforms", ("Meta", "Facebook")),
    KnownBrand("lg.com", "LG Electronics", ("LG",)),
])
NOW = datetime(2025, 1, 1, tzinfo=UTC)

RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Tech Wire</title>
<item><title>Apple unveils a new laptop line</title><link>https://news.example/a1</link>
  <pubDate>Tue, 10 Jun 2025 09:00:00 GMT</pubDate></item>
<item><title>Facebook parent fined by EU regulator</title><link>https://news.example/m1#top</link>
  <pubDate>Wed, 11 Jun 2025 12:30:00 +0200</pubDate></item>
<item><title>Apple unveils a new laptop line (update)</title><link>https://NEWS.example/a1</link>
  <pubDate>Tue, 10 Jun 2025 10:00:00 GMT</pubDate></item>
<item><title>Weather is nice today</title><link>https://news.example/w</link>
  <pubDate>Tue, 10 Jun 2025 10:00:00 GMT</pubDate></item>
<item><title>No date for LG</title><link>https://news.example/nodate</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Biz</title>
<entry><title>LG Electronics CEO steps down</title><link href="https://biz.example/lg"/>
  <id>urn:1</id><updated>2025-03-01T08:00:00Z</updated></entry>
</feed>"""


def test_rss_items_become_events_once_per_url() -> None:
    result = to_events(parse_news(RSS, "feed.xml"), BRANDS, ingested_at=NOW)
    assert [(e.domain, e.kind) for e in result.events] == [
        ("apple.com", "product"), ("meta.com", "regulatory")]
    assert result.duplicates == 1
    apple, meta = result.events
    assert apple.event_id == news_event_id("https://news.example/a1")
    assert meta.url == "https://news.example/m1"  # fragment dropped
    assert meta.published_at == datetime(2025, 6, 11, 10, 30, tzinfo=UTC)
    assert apple.source == "Tech Wire"
    reasons = sorted(r.reason for r in result.rejections)
    assert any("no known brand" in r for r in reasons)
    assert any("without a date" in r for r in reasons)


def test_atom_entries() -> None:
    (event,) = to_events(parse_news(ATOM), BRANDS, ingested_at=NOW).events
    assert (event.domain, event.kind) == ("lg.com", "leadership")
    assert event.published_at == datetime(2025, 3, 1, 8, tzinfo=UTC)


def test_jsonl_with_given_domain_and_kind_and_rejections() -> None:
    lines = [
        {"headline": "Something about a brand", "url": "https://x.example/1",
         "published_at": "2025-05-01T10:00:00Z", "domain": "https://www.Apple.com/",
         "kind": "scandal"},
        {"title": "Meta reports record quarterly revenue", "link": "https://x.example/2",
         "published": "2025-05-02T10:00:00"},
        {"headline": "bad kind", "url": "https://x.example/3", "published_at": "2025-05-02",
         "domain": "apple.com", "kind": "gossip"},
        {"headline": "no date", "url": "https://x.example/4", "domain": "apple.com"},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    result = to_events(parse_news(text, "news.jsonl"), BRANDS, ingested_at=NOW)
    assert [(e.domain, e.kind) for e in result.events] == [
        ("apple.com", "scandal"), ("meta.com", "financial")]
    assert result.events[1].published_at.tzinfo is not None
    assert sorted(r.position for r in result.rejections) == [3, 4, 5]


@pytest.mark.parametrize(("headline", "kind"), [
    ("Hackers breach customer database", "security"),
    ("Executives face fraud allegations", "scandal"),
    ("Antitrust probe opened into app store", "regulatory"),
    ("Company rebrands as Nova", "rebrand"),
    ("Board appoints new chief executive", "leadership"),
    ("Quarterly earnings beat forecasts", "financial"),
    ("Firm launches a folding phone", "product"),
    ("A quiet day at the office", "other"),
])
def test_kind_rules(headline: str, kind: str) -> None:
    assert classify(headline) == kind


def test_brand_matching_prefers_the_longest_whole_word() -> None:
    assert BRANDS.match("LG and Meta Platforms talk") == "meta.com"
    assert BRANDS.match("LG Electronics and Meta Platforms talk") == "lg.com"  # tie: earliest
    assert BRANDS.match("Pineapple prices rise") is None
    assert BRANDS.match("Visit apple.com today") == "apple.com"


NEWS_DOMAIN = "zyxo-news-test.com"
FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Wire</title>
<item><title>Zyxo Corp hit by ransomware attack</title><link>https://wire.test/zyxo-1</link>
  <pubDate>Tue, 10 Jun 2025 09:00:00 GMT</pubDate></item>
<item><title>Zyxo Corp hit by ransomware attack (updated)</title>
  <link>https://wire.test/zyxo-1#more</link><pubDate>Tue, 10 Jun 2025 11:00:00 GMT</pubDate></item>
<item><title>Nobody we know did anything</title><link>https://wire.test/x</link>
  <pubDate>Tue, 10 Jun 2025 09:00:00 GMT</pubDate></item>
</channel></rss>"""


@pytest.mark.stack
async def test_ingest_command_publishes_each_story_once(migrated: Settings,
                                                        tmp_path: Path) -> None:
    connection = await asyncpg.connect(migrated.postgres.dsn.get_secret_value())
    try:
        # A brand the system has measured (capture writes this row when it plans a run).
        await connection.execute(
            """INSERT INTO domains (domain, name, aliases) VALUES ($1, 'Zyxo Corp', '{Zyxo}')
               ON CONFLICT (domain) DO NOTHING""", NEWS_DOMAIN)
    finally:
        await connection.close()
    feed = tmp_path / "feed.xml"
    feed.write_text(FEED)

    dry = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams.cli", "news", "ingest", str(feed), "--dry-run",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(dry.communicate(), timeout=60)
    assert dry.returncode == 1, err.decode()  # one item rejected: no known brand
    (printed,) = [json.loads(line) for line in out.decode().splitlines()]
    assert (printed["domain"], printed["kind"]) == (NEWS_DOMAIN, "security")
    assert "1 duplicate" in err.decode()

    result = await ingest(str(feed), migrated)
    assert [e.event_id for e in result.events] == [news_event_id("https://wire.test/zyxo-1")]
    published = [NewsEvent.from_json(r.value) async for r in read_records(
        migrated.kafka.bootstrap, [NEWS_EVENTS.name]) if r.key == NEWS_DOMAIN.encode()]
    assert [e.event_id for e in published] == [result.events[0].event_id]  # dry run sent none


@pytest.mark.stack
async def test_ingest_command_keeps_the_good_lines_of_a_mixed_file(migrated: Settings,
                                                                   tmp_path: Path) -> None:
    source = tmp_path / "mixed.jsonl"
    good = {"headline": "Zyxo Corp names a new CEO", "url": "https://wire.test/zyxo-ceo",
            "published_at": "2025-06-12T08:00:00Z", "domain": NEWS_DOMAIN}
    source.write_bytes(json.dumps(good).encode() + b"\n"
                       + b"x" * (10 * 1024 * 1024) + b"\n"
                       + '{"headline": "Café"}\n'.encode("latin-1")
                       + b"[/x] not json\n")
    dry = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams.cli", "news", "ingest", str(source), "--dry-run",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(dry.communicate(), timeout=60)
    assert dry.returncode == 1, err.decode()
    (printed,) = [json.loads(line) for line in out.decode().splitlines()]
    assert (printed["domain"], printed["kind"]) == (NEWS_DOMAIN, "leadership")
    assert err.decode().splitlines() == [
        f"rejected {source}: line 2: longer than 65536 bytes (the limit per line)",
        f"rejected {source}: line 3: not UTF-8 (byte 0xe9 at byte 18 of the line)",
        f"rejected {source}: line 4: not JSON (Expecting value at column 2)",
        "would publish 1 news events, rejected 3, 0 duplicate URLs dropped",
    ]
