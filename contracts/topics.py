"""The topic registry: every topic, its partitions, key and message model, and its ``.dlt`` twin."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.alerts import AlertRaised
from contracts.base import Message
from contracts.calls import ProviderCallRequested
from contracts.correlations import CorrelationFound
from contracts.domains import DomainRequested
from contracts.embedding import ResponseEmbedded
from contracts.news import NewsEvent
from contracts.responses import RawResponse
from contracts.scores import BrandScore
from contracts.sources import CitationsFound
from contracts.validation import ResponseValidated
from contracts.visibility import VisibilityScore

DLT_SUFFIX = ".dlt"


@dataclass(frozen=True, kw_only=True)
class Topic:
    name: str
    partitions: int
    model: type[Message]
    key: str = "normalised domain"

    @property
    def dlt(self) -> str:
        return self.name + DLT_SUFFIX


DOMAINS_REQUESTED = Topic(name="domains.requested", partitions=6, model=DomainRequested)
# A domain's calls are independent of one another: keyed by call, they spread over every
# provider-calls process instead of queueing behind each other in one.
PROVIDER_CALLS = Topic(name="provider.calls", partitions=12, model=ProviderCallRequested,
                       key="call id")
RESPONSES_RAW = Topic(name="responses.raw", partitions=12, model=RawResponse)
RESPONSES_VALIDATED = Topic(name="responses.validated", partitions=12, model=ResponseValidated)
RESPONSES_EMBEDDED = Topic(name="responses.embedded", partitions=12, model=ResponseEmbedded)
BRAND_SCORES = Topic(name="brand.scores", partitions=12, model=BrandScore)
NEWS_EVENTS = Topic(name="news.events", partitions=6, model=NewsEvent)
CORRELATIONS_FOUND = Topic(name="correlations.found", partitions=6, model=CorrelationFound)
VISIBILITY_SCORES = Topic(name="visibility.scores", partitions=6, model=VisibilityScore,
                          key="project name")
ALERTS = Topic(name="alerts", partitions=3, model=AlertRaised, key="alert subject")
CITATIONS_FOUND = Topic(name="citations.found", partitions=6, model=CitationsFound)

TOPICS: tuple[Topic, ...] = (
    DOMAINS_REQUESTED,
    PROVIDER_CALLS,
    RESPONSES_RAW,
    RESPONSES_VALIDATED,
    RESPONSES_EMBEDDED,
    BRAND_SCORES,
    NEWS_EVENTS,
    CORRELATIONS_FOUND,
    VISIBILITY_SCORES,
    ALERTS,
    CITATIONS_FOUND,
)


def all_topic_names() -> list[str]:
    """Every topic and its dead-letter twin, in creation order."""
    return [name for topic in TOPICS for name in (topic.name, topic.dlt)]
