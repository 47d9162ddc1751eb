"""Every message on every topic: the single source of truth for the wire format."""

from contracts.base import Message
from contracts.calls import ProviderCallRequested, call_id_for
from contracts.domains import DomainRequested
from contracts.responses import RawResponse
from contracts.topics import (
    DOMAINS_REQUESTED,
    PROVIDER_CALLS,
    RESPONSES_RAW,
    TOPICS,
    Topic,
    all_topic_names,
)

__all__ = [
    "DOMAINS_REQUESTED",
    "PROVIDER_CALLS",
    "RESPONSES_RAW",
    "TOPICS",
    "DomainRequested",
    "Message",
    "ProviderCallRequested",
    "RawResponse",
    "Topic",
    "all_topic_names",
    "call_id_for",
]
