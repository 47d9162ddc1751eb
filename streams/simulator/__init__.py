"""A local stand-in for the eight LLM providers: real wire formats, deterministic answers with
a controlled truth (about one brand, or listing an industry's brands for a category prompt),
rate limits, outages and injected errors, plus an admin API (``/_sim``)."""

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
    CategoryAnswer,
    Listed,
    category_answer,
    category_truth,
    expected_position,
    find_industry,
    true_share_of_voice,
    true_tone,
    true_visibility,
)
from streams.simulator.config import NewsEffect, RateLimit, SimulatorConfig
from streams.simulator.params import ACCEPTED, ApiParams, ParamRefused, check_request
from streams.simulator.server import RunningSimulator, build_app, serve, start_simulator
from streams.simulator.wire import fingerprint

__all__ = [
    "ACCEPTED",
    "DEFAULT_FACT_ERROR_RATES",
    "DEFAULT_KNOWLEDGE_RATES",
    "INDUSTRY_TERMS",
    "INVENTED_BRANDS",
    "Answer",
    "AnswerEngine",
    "ApiParams",
    "Brand",
    "CategoryAnswer",
    "Listed",
    "NewsEffect",
    "ParamRefused",
    "RateLimit",
    "RunningSimulator",
    "SimulatorConfig",
    "build_app",
    "category_answer",
    "category_truth",
    "check_request",
    "default_brands",
    "estimate_tokens",
    "expected_position",
    "find_industry",
    "fingerprint",
    "load_brands",
    "serve",
    "start_simulator",
    "true_rates",
    "true_share_of_voice",
    "true_tone",
    "true_visibility",
]
