"""One aiohttp server that impersonates all eight providers on their real wire formats, each
under ``/<provider>``, with rate limits, outages, injected errors and an admin API (``/_sim``).

Each call is in one of two modes: ``memory`` (no tools) or ``retrieval`` (the provider's own
web search: OpenAI's and xAI's Responses API under ``/<provider>/v1/responses``, Anthropic's
web_search tool, Gemini's google_search, Perplexity unless ``disable_search``; see tools.py).
A retrieval answer cites what ``sources.retrieval_truth`` says, in the API's own shape
(retrieval.py); ``POST /_sim/truth`` tells the truth of a call. The mode is part of the call's
identity in the payment ledger.

Each provider's parameters are checked as its real API checks them (``params.py``: an unknown
or mistyped field gets that API's own error status and body), so an adapter cannot pass here
with a request production would refuse.

Outage deadlines are wall-clock (``time.time()``) timestamps so another process can set them;
rate-limit buckets use the monotonic clock."""

from __future__ import annotations

import asyncio
import json
import math
import signal
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from streams.providers.catalog import PROVIDERS, Wire
from streams.providers.types import RUN_HEADER
from streams.simulator.answers import (
    estimate_tokens,
    true_rates,
    truncate,
    unit_hash,
)
from streams.simulator.category import category_answer
from streams.simulator.config import JSON, SimulatorConfig
from streams.simulator.params import RESPONSES, ParamRefused, check_request
from streams.simulator.retrieval import Reply, place, responses_body, retrieval_body
from streams.simulator.sources import RetrievalTruth, is_category_prompt
from streams.simulator.state import SimulatorState, call_identity
from streams.simulator.wire import (
    PARSERS,
    ApiError,
    ParsedCall,
    error_body,
    json_response,
    ok_body,
    parse_responses,
    rate_headers,
    request_key,
)


class _ProviderHandler:
    """Serves one provider's generation endpoint, or (``endpoint="responses"``) its Responses
    API, the wire of OpenAI's and xAI's web search."""

    def __init__(self, state: SimulatorState, provider: str,
                 endpoint: str = "generate") -> None:
        self.state = state
        self.provider = provider
        self.endpoint = endpoint
        self.wire: Wire = PROVIDERS[provider].wire
        self.parse = parse_responses if endpoint == "responses" else PARSERS[self.wire]

    def _error(self, key_fp: str, status: int, message: str,
               headers: Mapping[str, str] | None = None) -> web.Response:
        self.state.record(self.provider, key_fp, status)
        return json_response(status, error_body(self.wire, status, message), headers)

    async def handle(self, request: web.Request) -> web.Response:
        state, provider, wire = self.state, self.provider, self.wire
        config = state.config
        key = request_key(wire, request)
        key_fp = state.fingerprint(key)
        if not key:
            return self._error(key_fp, 401, "missing API key")
        if state.is_revoked(key):
            status = 403 if wire == "gemini" else 401
            return self._error(key_fp, status, f"API key {key_fp}… has been revoked")
        try:
            body = json.loads(await request.read())
            if not isinstance(body, dict):
                raise ApiError(400, "request body must be a JSON object")
            check_request(provider, body, request.headers, self.endpoint)
            call = self.parse(provider, body, request)
        except ValueError:
            return self._error(key_fp, 400, "request body is not valid JSON")
        except ApiError as exc:
            return self._error(key_fp, exc.status, exc.message)
        except ParamRefused as exc:
            state.record(provider, key_fp, exc.status)
            return json_response(exc.status, exc.body)
        if config.in_outage(provider, time.time()):
            return self._error(key_fp, 503, f"{provider} is temporarily unavailable (outage)")

        prompt_tokens = estimate_tokens(call.prompt)
        wait, info = state.limit(provider, key_fp, prompt_tokens + (call.max_tokens or 0))
        headers = rate_headers(wire, info)
        if wait > 0:
            headers["retry-after"] = str(max(1, math.ceil(wait)))
            return self._error(key_fp, 429, f"rate limit exceeded for key {key_fp}…, retry in "
                                            f"{wait:.2f}s", headers)

        identity = call_identity(provider, call.model, call.prompt, call.sample, call.mode)
        attempt = state.attempts.get(identity, 0)
        state.attempts[identity] = attempt + 1
        delay = config.latency_ms
        if config.latency_jitter_ms:
            delay += (unit_hash("jitter", identity, attempt) * 2 - 1) * config.latency_jitter_ms
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        error_rate = config.error_rate_for(provider)
        if error_rate and unit_hash("error", identity, attempt) < error_rate:
            status = 500 if unit_hash("status", identity, attempt) < 0.5 else 503
            return self._error(key_fp, status, "simulated server error", headers)

        version = config.model_version(provider, call.model)
        category = None
        # A prompt of no known kind that names no domain may ask about an industry's brands.
        if is_category_prompt(state.engine, call.prompt):
            category = category_answer(provider, call.prompt, call.sample, state.engine.brands,
                                       salt=call.salt, listing_rates=config.listing_rates,
                                       mode=call.mode)
        if category is not None:
            full_text = category.text
        else:
            full_text = self._brand_answer(call, version)
        state.paid(request.headers.get(RUN_HEADER, ""), identity)
        state.record(provider, key_fp, 200)
        if call.mode == "memory" and self.endpoint != "responses":
            text, cut = truncate(full_text, call.max_tokens)
            body = ok_body(provider, version, text, cut, prompt_tokens, estimate_tokens(text),
                           state.next_id())
            return json_response(200, body, headers)
        reply = Reply(provider=provider, model=call.model, version=version, text=full_text,
                      prompt_tokens=prompt_tokens, max_tokens=call.max_tokens,
                      call_id=state.next_id(), request=call.body,
                      search_limit=call.search_limit)
        if call.mode == "memory":  # the Responses API without a search tool
            return json_response(200, responses_body(reply, None, []), headers)
        truth = state.retrieval_truth(provider, call.prompt, call.sample, call.salt)
        citings = place(full_text, truth, state.engine.brands, provider, call.prompt,
                        call.sample)
        if self.endpoint == "responses":
            body = responses_body(reply, truth, citings)
        else:
            body = retrieval_body(reply, truth, citings)
        return json_response(200, body, headers)

    def _brand_answer(self, call: ParsedCall, version: str) -> str:
        """The answer about the brand the prompt names (or the generic one), from its truth."""
        config, provider = self.state.config, self.provider
        _, brand = self.state.engine.find_domain(call.prompt)
        domain = brand.domain if brand else None
        now = time.time()
        knowledge_rate, fact_error_rate = true_rates(provider, call.model, config, domain=domain,
                                                     now=now)
        answer = self.state.engine.answer(model=version, prompt=call.prompt, sample=call.sample,
                                          knowledge_rate=knowledge_rate,
                                          fact_error_rate=fact_error_rate,
                                          addendum=config.news_addendum(provider, domain, now),
                                          restyle=config.version_overridden(provider, call.model),
                                          salt=call.salt)
        return answer.text


def _admin_routes(state: SimulatorState) -> list[web.RouteDef]:
    async def get_stats(request: web.Request) -> web.Response:
        return json_response(200, state.stats(identities=request.query.get("identities") != "0",
                                              run=request.query.get("run")))

    async def get_config(request: web.Request) -> web.Response:
        return json_response(200, state.public_config())

    async def post_config(request: web.Request) -> web.Response:
        try:
            patch = json.loads(await request.read() or b"{}")
            if not isinstance(patch, dict):
                raise ValueError("the patch must be a JSON object")
            state.configure(patch)
        except (ValueError, ValidationError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(200, state.public_config())

    async def post_reset(request: web.Request) -> web.Response:
        state.reset(config=request.query.get("config") in ("1", "true"))
        return json_response(200, {"ok": True})

    async def health(request: web.Request) -> web.Response:
        return json_response(200, {"ok": True})

    async def post_truth(request: web.Request) -> web.Response:
        try:
            query = json.loads(await request.read() or b"{}")
            if not isinstance(query, dict):
                raise ValueError("the query must be a JSON object")
            return json_response(200, state.truth_of(query))
        except (ValueError, TypeError, KeyError) as exc:
            return json_response(400, {"error": str(exc)})

    return [web.get("/_sim/stats", get_stats), web.get("/_sim/config", get_config),
            web.post("/_sim/config", post_config), web.post("/_sim/reset", post_reset),
            web.get("/_sim/health", health), web.post("/_sim/truth", post_truth)]


def build_app(state: SimulatorState) -> web.Application:
    """The aiohttp application serving every provider plus the admin API."""
    app = web.Application(client_max_size=4 * 1024 * 1024)
    routes = _admin_routes(state)
    for name, spec in PROVIDERS.items():
        handler = _ProviderHandler(state, name).handle
        if spec.wire == "openai":
            # Also without /v1, as DeepSeek and Perplexity document their base URLs.
            routes += [web.post(f"/{name}/v1/chat/completions", handler),
                       web.post(f"/{name}/chat/completions", handler)]
            if name in RESPONSES:  # OpenAI's and xAI's web search
                routes.append(web.post(f"/{name}/v1/responses",
                                       _ProviderHandler(state, name, "responses").handle))
        elif spec.wire == "anthropic":
            routes.append(web.post(f"/{name}/v1/messages", handler))
        else:
            # v1beta is what the REST reference shows; google-genai 3.x defaults to v1.
            routes += [web.post(f"/{name}/v1beta/models/{{tail}}", handler),
                       web.post(f"/{name}/v1/models/{{tail}}", handler)]
    app.add_routes(routes)
    return app


class RunningSimulator:
    """A started simulator; ``url`` is its root, ``base_urls()`` what providers should use."""

    def __init__(self, runner: web.AppRunner, state: SimulatorState, url: str) -> None:
        self._runner = runner
        self.state = state
        self.url = url

    @property
    def config(self) -> SimulatorConfig:
        return self.state.config

    def base_urls(self) -> dict[str, str]:
        """Provider -> base URL in the form its real adapter expects."""
        return {name: f"{self.url}/{name}/v1" if spec.wire == "openai" else f"{self.url}/{name}"
                for name, spec in PROVIDERS.items()}

    def env(self) -> dict[str, str]:
        """``DR_<PROVIDER>_BASE_URL`` variables pointing the app at this simulator."""
        return {f"DR_{name.upper()}_BASE_URL": url for name, url in self.base_urls().items()}

    def configure(self, patch: Mapping[str, Any]) -> SimulatorConfig:
        """Same as ``POST /_sim/config``."""
        return self.state.configure(patch)

    def stats(self) -> JSON:
        return self.state.stats()

    def retrieval_truth(self, provider: str, prompt: str, sample: int,
                        run: str = "") -> RetrievalTruth:
        """What this simulator's retrieval answer cites for the call (``run``: its
        ``RUN_HEADER``), under its current brands and listing overrides."""
        return self.state.retrieval_truth(provider, prompt, sample, run[:64])

    def reset(self, *, config: bool = False) -> None:
        self.state.reset(config=config)

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> RunningSimulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def start_simulator(config: SimulatorConfig | None = None) -> RunningSimulator:
    """Start serving on ``config.host:config.port`` (0 = a free port) in the running loop."""
    config = config or SimulatorConfig()
    state = SimulatorState(config)
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port, backlog=1024)
        await site.start()
        host, port = runner.addresses[0][:2]
    except BaseException:
        await runner.cleanup()
        raise
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    return RunningSimulator(runner, state, url)


async def _serve_forever(config: SimulatorConfig) -> None:
    sim = await start_simulator(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"simulator listening on {sim.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def serve(config: SimulatorConfig | None = None) -> None:
    """Run the simulator until SIGINT/SIGTERM (for ``domain-runner sim``)."""
    import uvloop  # here: the simulator's other users (tests) bring their own loop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve_forever(config or SimulatorConfig()))
