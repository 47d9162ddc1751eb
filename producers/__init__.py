"""What puts work into the system: domain files and news (files and feeds), from the CLI."""

from __future__ import annotations

from producers.domain_file import DomainEntry, parse_domains
from producers.domains import publish_run
from producers.feeds import poll_due_feeds
from producers.news import ingest, publish_events, to_events
from producers.news_feed import parse_news, read_news
from producers.news_match import BrandMatcher, KnownBrand
from producers.projects import publish_project_run

__all__ = [
    "BrandMatcher",
    "DomainEntry",
    "KnownBrand",
    "ingest",
    "parse_domains",
    "parse_news",
    "poll_due_feeds",
    "publish_events",
    "publish_project_run",
    "publish_run",
    "read_news",
    "to_events",
]
