"""A local stand-in for the eight LLM providers: real wire formats, deterministic answers with
a controlled truth, rate limits, outages and injected errors, plus an admin API (``/_sim``)."""

from streams.simulator.answers import (
    DEFAULT_FACT_ERROR_RATES,
    DEFAULT_KNOWLEDGE_RATES,
    Answer,
    AnswerEngine,
    estimate_tokens,
    true_rates,
)
from streams.simulator.brands import Brand, default_brands, load_brands
from streams.simulator.params import ACCEPTED, ApiParams, ParamRefused, check_request
from streams.simulator.server import (
    NewsEffect,
    RateLimit,
    RunningSimulator,
    SimulatorConfig,
    build_app,
    fingerprint,
    serve,
    start_simulator,
)

__all__ = [
    "ACCEPTED",
    "DEFAULT_FACT_ERROR_RATES",
    "DEFAULT_KNOWLEDGE_RATES",
    "Answer",
    "AnswerEngine",
    "ApiParams",
    "Brand",
    "NewsEffect",
    "ParamRefused",
    "RateLimit",
    "RunningSimulator",
    "SimulatorConfig",
    "build_app",
    "check_request",
    "default_brands",
    "estimate_tokens",
    "fingerprint",
    "load_brands",
    "serve",
    "start_simulator",
    "true_rates",
]
