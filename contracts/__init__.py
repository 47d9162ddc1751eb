"""Every message on every topic: the single source of truth for the wire format."""

from contracts.alerts import AlertKind, AlertRaised, alert_id_for
from contracts.base import Message
from contracts.calls import MODES, Mode, ProviderCallRequested, call_id_for
from contracts.correlations import CorrelationFound, Verdict, WindowSummary
from contracts.domain_name import Domain, InvalidDomain, normalize_domain
from contracts.domains import DomainRequested
from contracts.embedding import ResponseEmbedded
from contracts.errors import DomainRunnerError
from contracts.news import NEWS_KINDS, NewsEvent, NewsKind, news_event_id
from contracts.projects import (
    CellSamples,
    Precision,
    ProjectBrand,
    ProjectPrompt,
    ProjectRequest,
)
from contracts.responses import RawResponse
from contracts.scores import ALL_PROVIDERS, BrandScore, Metric, MetricChange
from contracts.sources import CitationsFound, CitedSource
from contracts.topics import (
    ALERTS,
    BRAND_SCORES,
    CITATIONS_FOUND,
    CORRELATIONS_FOUND,
    DOMAINS_REQUESTED,
    NEWS_EVENTS,
    PROVIDER_CALLS,
    RESPONSES_EMBEDDED,
    RESPONSES_RAW,
    RESPONSES_VALIDATED,
    TOPICS,
    VISIBILITY_SCORES,
    Topic,
    all_topic_names,
)
from contracts.validation import FactCheck, ResponseValidated
from contracts.visibility import ALL, VisibilityScore

__all__ = [
    "ALERTS",
    "ALL",
    "ALL_PROVIDERS",
    "BRAND_SCORES",
    "CITATIONS_FOUND",
    "CORRELATIONS_FOUND",
    "DOMAINS_REQUESTED",
    "MODES",
    "NEWS_EVENTS",
    "NEWS_KINDS",
    "PROVIDER_CALLS",
    "RESPONSES_EMBEDDED",
    "RESPONSES_RAW",
    "RESPONSES_VALIDATED",
    "TOPICS",
    "VISIBILITY_SCORES",
    "AlertKind",
    "AlertRaised",
    "BrandScore",
    "CellSamples",
    "CitationsFound",
    "CitedSource",
    "CorrelationFound",
    "Domain",
    "DomainRequested",
    "DomainRunnerError",
    "FactCheck",
    "InvalidDomain",
    "Message",
    "Metric",
    "MetricChange",
    "Mode",
    "NewsEvent",
    "NewsKind",
    "Precision",
    "ProjectBrand",
    "ProjectPrompt",
    "ProjectRequest",
    "ProviderCallRequested",
    "RawResponse",
    "ResponseEmbedded",
    "ResponseValidated",
    "Topic",
    "Verdict",
    "VisibilityScore",
    "WindowSummary",
    "alert_id_for",
    "all_topic_names",
    "call_id_for",
    "news_event_id",
    "normalize_domain",
]
