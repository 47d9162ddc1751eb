"""One answer's sources as data: the extractor's reading of the stored body, each source with its
canonical URL, domain and class."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast, get_args

from contracts import CitationsFound, CitedSource, RawResponse
from streams.errors import DomainRunnerError
from streams.providers.citations import Api, RetrievalExtraction, extract_retrieval
from streams.providers.shape import ShapeError
from streams.sources.classes import SourceClasses, classify
from streams.urls import canonical_url, domain_of

# Gemini cites through these opaque redirects; the domain it states beside each stands for the
# site (following one would be a request to Google per citation).
REDIRECT_HOSTS = frozenset({"vertexaisearch.cloud.google.com"})
APIS = frozenset(get_args(Api))


class UnreadableBody(DomainRunnerError):
    """A stored provider body that cannot be decompressed, parsed or read for sources."""


def decode_body(compressed: bytes) -> object:
    try:
        return json.loads(zlib.decompress(compressed))
    except (zlib.error, ValueError) as exc:
        raise UnreadableBody(f"the stored body is not compressed JSON ({exc})") from None


def read_extraction(api: str, payload: object) -> RetrievalExtraction:
    if api not in APIS:
        raise UnreadableBody(f"a body of shape {api!r} carries no web-search sources")
    try:
        return extract_retrieval(cast(Api, api), payload)
    except ShapeError as exc:
        raise UnreadableBody(f"the {api} body has no readable sources: {exc}") from None


def cited_sources(extraction: RetrievalExtraction, *, own: str | None,
                  competitors: Sequence[str], classes: SourceClasses) -> tuple[CitedSource, ...]:
    sources = []
    for source in extraction.sources:
        domain = domain_of(source.url)
        canonical = canonical_url(source.url)
        if domain in REDIRECT_HOSTS and source.domain_hint:
            # An unresolved redirect: the stated domain is the site; the redirect stays the URL.
            domain = domain_of(f"https://{source.domain_hint}/") or source.domain_hint.lower()
        klass, brand = classify(domain, own=own, competitors=competitors, classes=classes)
        sources.append(CitedSource(
            ordinal=source.order, url=source.url, canonical_url=canonical, domain=domain,
            title=source.title, cited=source.cited, spans=source.spans, source_class=klass,
            brand=brand))
    return tuple(sorted(sources, key=lambda s: s.ordinal))


def citations_found(response: RawResponse, extraction: RetrievalExtraction, *, version: int,
                    project: str | None, own: str | None, competitors: Sequence[str],
                    classes: SourceClasses) -> CitationsFound:
    return CitationsFound(
        call_id=response.call_id, run_id=response.run_id, domain=response.domain,
        project=project, provider=response.provider, model=response.model,
        prompt_id=response.prompt_id, sample=response.sample, extractor_version=version,
        sources=cited_sources(extraction, own=own, competitors=competitors, classes=classes),
        search_queries=extraction.search_queries, web_searches=extraction.web_searches,
        extracted_at=datetime.now(UTC))
