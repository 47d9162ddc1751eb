"""What retrieval answers cite: each answer's sources read from its kept provider body, classed
(own site, a tracked competitor's, or a third party's kind), stored per extractor version, and
measured (citation share and rate with intervals; memory vs retrieval)."""

from __future__ import annotations

from streams.sources.classes import (
    COMPETITOR,
    OWN,
    SHIPPED_CLASSES,
    THIRD_PARTY_CLASSES,
    BadClassesFile,
    SourceClasses,
    classes_from,
    classify,
    load_classes,
)
from streams.sources.metrics import AnswerSources, ModeGap, ScopeSources, SourceShare, run_sources
from streams.sources.reading import UnreadableBody, citations_found, decode_body, read_extraction
from streams.sources.replay import Reextraction, reextract
from streams.sources.report import (
    NoSources,
    SourcesReport,
    mode_gaps,
    project_gaps,
    sources_as_json,
    sources_report,
    twin_of,
)
from streams.sources.store import purge_bodies, save_found

__all__ = [
    "COMPETITOR",
    "OWN",
    "SHIPPED_CLASSES",
    "THIRD_PARTY_CLASSES",
    "AnswerSources",
    "BadClassesFile",
    "ModeGap",
    "NoSources",
    "Reextraction",
    "ScopeSources",
    "SourceClasses",
    "SourceShare",
    "SourcesReport",
    "UnreadableBody",
    "citations_found",
    "classes_from",
    "classify",
    "decode_body",
    "load_classes",
    "mode_gaps",
    "project_gaps",
    "purge_bodies",
    "read_extraction",
    "reextract",
    "run_sources",
    "save_found",
    "sources_as_json",
    "sources_report",
    "twin_of",
]
