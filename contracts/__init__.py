"""Every message on every topic: the single source of truth for the wire format."""

from contracts.base import Message
from contracts.calls import ProviderCallRequested, call_id_for
from contracts.domains import DomainRequested
from contracts.embedding import ResponseEmbedded
from contracts.responses import RawResponse
from contracts.topics import (
    DOMAINS_REQUESTED,
    PROVIDER_CALLS,
    RESPONSES_EMBEDDED,
    RESPONSES_RAW,
    RESPONSES_VALIDATED,
    TOPICS,
    Topic,
    all_topic_names,
)
from contracts.validation import FactCheck, ResponseValidated

__all__ = [
    "DOMAINS_REQUESTED",
    "PROVIDER_CALLS",
    "RESPONSES_EMBEDDED",
    "RESPONSES_RAW",
    "RESPONSES_VALIDATED",
    "TOPICS",
    "DomainRequested",
    "FactCheck",
    "Message",
    "ProviderCallRequested",
    "RawResponse",
    "ResponseEmbedded",
    "ResponseValidated",
    "Topic",
    "all_topic_names",
    "call_id_for",
]
