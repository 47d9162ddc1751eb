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
from streams.simulator.config import NewsEffect, RateLimit, SimulatorConfig
from streams.simulator.params import ACCEPTED, ApiParams, ParamRefused, check_request
from streams.simulator.server import RunningSimulator, build_app, serve, start_simulator
from streams.simulator.wire import fingerprint

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
