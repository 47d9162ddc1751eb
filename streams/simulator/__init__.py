"""A local stand-in for the eight LLM providers: real wire formats, deterministic answers with
a controlled truth (about one brand, or listing an industry's brands for a category prompt),
answers from the providers' own web search citing a known truth (``retrieval_truth``), rate
limits, outages and injected errors, plus an admin API (``/_sim``)."""

from streams.simulator.answers import (
    DEFAULT_FACT_ERROR_RATES,
    DEFAULT_KNOWLEDGE_RATES,
    Answer,
    AnswerEngine,
    estimate_tokens,
    true_rates,
)
from streams.simulator.brands import Brand, default_brands, load_brands
from streams.simulator.category import (
    INDUSTRY_TERMS,
    INVENTED_BRANDS,
    MAX_LISTING_RATE,
    MIN_LISTING_RATE,
    MODES,
    CategoryAnswer,
    Listed,
    Mode,
    category_answer,
    category_truth,
    expected_position,
    find_industry,
    listing_rate,
    retrieval_lift,
    true_share_of_voice,
    true_tone,
    true_visibility,
)
from streams.simulator.config import NewsEffect, RateLimit, SimulatorConfig
from streams.simulator.params import ACCEPTED, ApiParams, ParamRefused, check_request
from streams.simulator.retrieval import grounding_redirect
from streams.simulator.server import RunningSimulator, build_app, serve, start_simulator
from streams.simulator.sources import (
    RetrievalTruth,
    TrueSource,
    retrieval_sources,
    retrieval_truth,
    search_queries,
)
from streams.simulator.state import call_identity
from streams.simulator.wire import fingerprint

__all__ = [
    "ACCEPTED",
    "DEFAULT_FACT_ERROR_RATES",
    "DEFAULT_KNOWLEDGE_RATES",
    "INDUSTRY_TERMS",
    "INVENTED_BRANDS",
    "MAX_LISTING_RATE",
    "MIN_LISTING_RATE",
    "MODES",
    "Answer",
    "AnswerEngine",
    "ApiParams",
    "Brand",
    "CategoryAnswer",
    "Listed",
    "Mode",
    "NewsEffect",
    "ParamRefused",
    "RateLimit",
    "RetrievalTruth",
    "RunningSimulator",
    "SimulatorConfig",
    "TrueSource",
    "build_app",
    "call_identity",
    "category_answer",
    "category_truth",
    "check_request",
    "default_brands",
    "estimate_tokens",
    "expected_position",
    "find_industry",
    "fingerprint",
    "grounding_redirect",
    "listing_rate",
    "load_brands",
    "retrieval_lift",
    "retrieval_sources",
    "retrieval_truth",
    "search_queries",
    "serve",
    "start_simulator",
    "true_rates",
    "true_share_of_voice",
    "true_tone",
    "true_visibility",
]
