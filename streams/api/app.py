"""The HTTP API (FastAPI): reads PostgreSQL, publishes runs through the producers' code, keeps no
state of its own (keys and their limits live in PostgreSQL and Redis), so replicas need nothing
more than a load balancer.

Every route but ``/v1/health`` needs ``Authorization: Bearer KEY``: no key, a wrong or a revoked
one → 401; a read key on a write route → 403; over the key's rate → 429 with ``Retry-After`` and
``RateLimit-*``; a body over the cap → 413. Errors are ``application/problem+json`` and never
echo a key."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts import ALL, Domain, InvalidDomain, Mode, normalize_domain
from producers import DomainEntry, publish_run
from streams.api.dashboard import SignInNeeded, dashboard_router, sign_in_redirect
from streams.api.keys import ApiKey, authenticate, list_keys
from streams.api.limits import KeyLimiter
from streams.api.metrics import ApiMetrics
from streams.api.pages import render
from streams.api.queries import (
    alerts,
    brand_history,
    brand_scores,
    correlations,
    leaderboard,
    list_runs,
    project_history,
    provider_usage,
)
from streams.config import Settings
from streams.errors import DomainRunnerError
from streams.kafka.broker import create_broker
from streams.limiter import RedisLimiter, provider_limits
from streams.ops.lag import consumer_lag
from streams.providers.catalog import search_refusal
from streams.runs.report import run_report
from streams.runtime.postgres import create_pool
from streams.runtime.redis import create_redis
from streams.schedules import active_schedules
from streams.sources import project_gaps, sources_as_json, sources_report
from streams.visibility.report import project_report, report_as_json

logger = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
# Answered as problem+json; every other path is a dashboard page.
API_PATHS = ("/v1/", "/metrics", "/docs", "/openapi.json")
MAX_PAGE = 500


class Problem(DomainRunnerError):
    """An error answered as RFC 9457 problem details."""

    def __init__(self, status: int, title: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status,
                         "detail": detail, **extra}, status_code=status, media_type=PROBLEM,
                        headers=headers)


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with 413: by its Content-Length, or, for a body
    sent in chunks, once more than that has arrived (it is read here, never more than the cap
    plus one chunk, and handed on whole)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = problem(413, "Request body too large",
                            f"the body is larger than {self.max_bytes} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await problem(400, "Bad Content-Length", "Content-Length is not a number")(
                    scope, receive, send)
            elif int(declared) > self.max_bytes:
                await too_large(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


class CountRequests:
    """Count every response by route template (never the raw path) and status."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def recorded(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recorded)
        finally:
            route = scope.get("route")
            self.metrics.requests.add(1, {"route": getattr(route, "path", "unmatched"),
                                          "status": str(status)})


class DomainIn(BaseModel):
    domain: Domain
    name: str = Field(default="", max_length=200)
    aliases: tuple[str, ...] = Field(default=(), max_length=20)


class RunIn(BaseModel):
    domains: list[DomainIn] = Field(min_length=1, max_length=10_000)
    providers: list[str] = Field(default_factory=list, description="Empty: every provider.")
    samples: int = Field(default=1, ge=1, le=100)
    prompt_set: str = "default"
    cost_cap_usd: float | None = Field(default=None, ge=0)
    mode: Mode = Field(default="memory", description="retrieval: with each provider's own web "
                                                     "search (those without one are refused)")


class State:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, redis: Redis,
                 broker: KafkaBroker, metrics: ApiMetrics) -> None:
        self.settings, self.pool, self.redis, self.broker = settings, pool, redis, broker
        self.metrics = metrics
        self.limiter = KeyLimiter(redis, per_minute=settings.api.per_minute,
                                  burst=settings.api.burst)


def state(request: Request) -> State:
    api: State = request.app.state.api
    return api


def needs(scope: str) -> Callable[..., Awaitable[ApiKey]]:
    async def check(request: Request, response: Response) -> ApiKey:
        api = state(request)
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        found = await authenticate(api.pool, key.strip()) if (
            scheme.lower() == "bearer" and key.strip()) else None
        if found is None:
            raise Problem(401, "Unauthorized", "a valid API key is required: "
                          "Authorization: Bearer KEY (missing, unknown or revoked)",
                          {"WWW-Authenticate": 'Bearer realm="domain-runner"'})
        if scope == "write" and found.scope != "write":
            raise Problem(403, "Forbidden", f"key {found.fingerprint} is read-only; "
                          "this route needs a write key")
        response.headers.update(await within_limit(request, found))
        return found
    return check


async def within_limit(request: Request, key: ApiKey) -> dict[str, str]:
    """The key's ``RateLimit-*`` headers; 429 when it is over its limit (across replicas)."""
    api = state(request)
    decision = await api.limiter.take(key.fingerprint)
    if not decision.allowed:
        raise Problem(429, "Too Many Requests",
                      f"key {key.fingerprint} is over its limit of "
                      f"{api.settings.api.per_minute} requests per minute", decision.headers())
    return decision.headers()


# Module level: FastAPI resolves these annotations in the module's namespace.
Read = Annotated[ApiKey, Depends(needs("read"))]
Write = Annotated[ApiKey, Depends(needs("write"))]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]


def create_app(settings: Settings) -> FastAPI:
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings, max_size=10)
        redis = create_redis(settings)
        broker = create_broker(settings)
        await broker.connect()
        app.state.api = State(settings, pool, redis, broker, metrics)
        try:
            yield
        finally:
            await broker.stop()
            await redis.aclose()
            await pool.close()
            metrics.provider.shutdown()

    app = FastAPI(title="Domain Runner API", version="1", lifespan=lifespan,
                  description="What large language models say about brands, as measured.")
    app.add_middleware(CountRequests, metrics=metrics)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, exc.headers)

    @app.exception_handler(DomainRunnerError)
    async def _ours(request: Request, exc: DomainRunnerError) -> Response:
        status = 404 if isinstance(exc, LookupError) else 400
        if not request.url.path.startswith(API_PATHS):
            return HTMLResponse(render("error.html", title=type(exc).__name__,
                                             message=str(exc)), status_code=status)
        return problem(status, type(exc).__name__, str(exc))

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return sign_in_redirect(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and why, never the input itself (it may be large, or a secret).
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(422, "Invalid request", "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:20]), errors=errors)

    @app.get("/v1/health", tags=["operations"])
    async def health(request: Request) -> JSONResponse:
        """Whether the broker, PostgreSQL and Redis answer (no key needed)."""
        api = state(request)

        async def check(probe: Awaitable[Any]) -> bool:
            try:
                return bool(await asyncio.wait_for(probe, timeout=2.0))
            except Exception:
                return False

        parts = {"postgres": await check(api.pool.fetchval("SELECT true")),
                 "redis": await check(api.redis.ping()),
                 "broker": await check(api.broker.ping(timeout=2.0))}
        healthy = all(parts.values())
        return JSONResponse({"status": "ok" if healthy else "degraded", **parts},
                            status_code=200 if healthy else 503)

    @app.post("/v1/runs", status_code=202, tags=["runs"])
    async def publish(body: RunIn, request: Request, key: Write) -> dict[str, Any]:
        """Publish the domains as one run, through the same producer as the CLI."""
        api = state(request)
        providers = body.providers or api.settings.providers
        unknown = sorted(set(providers) - set(api.settings.provider_configs))
        if unknown:
            raise Problem(422, "Unknown providers", f"not configured here: {', '.join(unknown)}")
        if body.mode == "retrieval":
            blind = {name: why for name in providers if (why := search_refusal(name))}
            if blind and body.providers:
                raise Problem(422, "No web search", "; ".join(
                    f"{name}: {why}" for name, why in sorted(blind.items())))
            # By default, the providers that can search; capture records the others' refusal.
            providers = [] if blind else providers
        run_id = uuid.uuid4()
        entries = [DomainEntry(line=i, domain=d.domain, name=d.name or d.domain,
                               aliases=d.aliases) for i, d in enumerate(body.domains, start=1)]
        await publish_run(api.broker, entries, run_id=run_id, providers=providers,
                          prompt_set=body.prompt_set, samples=body.samples,
                          cost_cap_usd=body.cost_cap_usd, mode=body.mode)
        logger.info("run %s published by key %s: %d domains", run_id, key.fingerprint,
                    len(entries))
        return {"run_id": str(run_id), "domains": len(entries), "status": f"/v1/runs/{run_id}"}

    @app.get("/v1/runs", tags=["runs"])
    async def runs(request: Request, key: Read, limit: Limit = 50,
                   cursor: str | None = None) -> dict[str, Any]:
        return await list_runs(state(request).pool, limit=limit, cursor=cursor)

    @app.get("/v1/runs/{run_id}", tags=["runs"])
    async def run(run_id: uuid.UUID, request: Request, key: Read) -> dict[str, Any]:
        """A run's status, coverage, per-provider table and missing cells."""
        report = await run_report(state(request).pool, run_id)
        return {"run_id": str(report.run_id), "status": report.status,
                "coverage": report.coverage, "expected_calls": report.expected_calls,
                "succeeded_calls": report.succeeded_calls, "failed_calls": report.failed_calls,
                "skipped_calls": report.skipped_calls,
                "dead_lettered_calls": report.dead_lettered_calls,
                "stop_reason": report.stop_reason, "cost_usd": report.cost_usd,
                "providers": [vars(line) for line in report.providers],
                "missing": [dict(zip(("domain", "provider", "prompt_id", "sample", "status",
                                      "error"), cell, strict=True)) for cell in report.missing]}

    @app.get("/v1/runs/{run_id}/sources", tags=["runs"])
    async def sources(run_id: uuid.UUID, request: Request, key: Read,
                      top: Limit = 20) -> dict[str, Any]:
        """What a retrieval run's answers cite: per scope (provider, prompt) each domain's and
        class's citation share and rate with 95 % intervals, the own-site rate and the searches
        run; and, for a project run with a memory twin, visibility and share of voice from
        memory vs with search per provider and brand, with the difference and its p-value."""
        pool = state(request).pool
        report = await sources_report(pool, run_id)
        return sources_as_json(report, await project_gaps(pool, run_id), top=top)

    @app.get("/v1/brands/{domain}/scores", tags=["brands"])
    async def scores(domain: str, request: Request, key: Read) -> dict[str, Any]:
        """The brand's latest scores per provider (and across providers), with intervals."""
        found = await brand_scores(state(request).pool, _domain(domain))
        if found is None:
            raise Problem(404, "Not Found", f"no scores for {domain} yet")
        return found

    @app.get("/v1/brands/{domain}/history", tags=["brands"])
    async def history(domain: str, request: Request, key: Read, provider: str = ALL,
                      limit: Limit = 50, cursor: str | None = None) -> dict[str, Any]:
        return await brand_history(state(request).pool, _domain(domain),
                                           provider=provider, limit=limit, cursor=cursor)

    @app.get("/v1/leaderboard", tags=["brands"])
    async def board(request: Request, key: Read, industry: str | None = None,
                    provider: str = ALL, limit: Limit = 50) -> dict[str, Any]:
        """Brands by their latest composite score, with intervals."""
        return {"industry": industry, "provider": provider,
                "items": await leaderboard(state(request).pool, industry=industry,
                                                   provider=provider, limit=limit)}

    @app.get("/v1/projects/{name}/report", tags=["projects"])
    async def project(name: str, request: Request, key: Read, run: uuid.UUID | None = None,
                      mode: Mode = "memory") -> dict[str, Any]:
        """Visibility, share of voice, position and sentiment of every tracked brand (of
        ``run``, or of the project's latest finished run in ``mode``)."""
        return report_as_json(await project_report(state(request).pool, name, run, mode=mode))

    @app.get("/v1/projects/{name}/history", tags=["projects"])
    async def project_trend(name: str, request: Request, key: Read, provider: str = ALL,
                              limit: Limit = 50, mode: Mode = "memory") -> dict[str, Any]:
        """Each tracked brand's visibility and share of voice over the project's runs in one
        mode."""
        return {"project": name, "provider": provider, "mode": mode,
                "items": await project_history(state(request).pool, name, provider=provider,
                                               limit=limit, mode=mode)}

    @app.get("/v1/correlations", tags=["brands"])
    async def correlation_list(request: Request, key: Read, domain: str | None = None,
                               limit: Limit = 50, cursor: str | None = None) -> dict[str, Any]:
        return await correlations(state(request).pool,
                                          domain=_domain(domain) if domain else None,
                                          limit=limit, cursor=cursor)

    @app.get("/v1/alerts", tags=["brands"])
    async def alert_list(request: Request, key: Read, kind: str | None = None,
                         subject: str | None = None, limit: Limit = 50,
                         cursor: str | None = None) -> dict[str, Any]:
        """Alerts raised (brand scores, visibility, news effects, model changes), newest
        first, each with its evidence: before and after, difference, p-value, the runs."""
        return await alerts(state(request).pool, kind=kind, subject=subject, limit=limit,
                            cursor=cursor)

    @app.get("/v1/schedules", tags=["runs"])
    async def schedule_list(request: Request, key: Read) -> dict[str, Any]:
        """Each schedule with its last slot (and that slot's run) and its next slot."""
        now = datetime.now(UTC)
        return {"items": [
            {"name": s.name, "target_kind": s.target_kind,
             "target": s.target if s.target_kind == "project" else len(s.target),
             "cron": s.cron, "timezone": s.timezone, "missed": s.missed, "samples": s.samples,
             "last_slot": s.last_slot, "last_run_id": s.last_run_id,
             "next_slot": s.next_slot(now)}
            for s in await active_schedules(state(request).pool)]}

    @app.get("/v1/provider-usage", tags=["operations"])
    async def usage(request: Request, key: Read, since: datetime | None = None,
                    until: datetime | None = None) -> dict[str, Any]:
        """Calls, outcomes, tokens and cost per provider over a period (default: 24 hours)."""
        until = until or datetime.now(UTC)
        since = since or until - timedelta(days=1)
        return {"since": since, "until": until,
                "providers": await provider_usage(state(request).pool, since=since,
                                                          until=until)}

    @app.get("/v1/api-keys", tags=["operations"])
    async def keys(request: Request, key: Write) -> dict[str, Any]:
        """Every API key by fingerprint: name, scope, last use, revoked or not."""
        return {"items": [{"fingerprint": k.fingerprint, "name": k.name, "scope": k.scope,
                           "created_at": k.created_at, "last_used_at": k.last_used_at,
                           "revoked_at": k.revoked_at, "active": k.active}
                          for k in await list_keys(state(request).pool)]}

    @app.get("/metrics", tags=["operations"])
    async def prometheus(request: Request, key: Read) -> Response:
        """Prometheus text format; refreshed from the stored figures at each scrape."""
        api = state(request)
        limiter = RedisLimiter(api.redis, provider_limits(api.settings),
                               max_wait_s=api.settings.limiter.max_wait_s)
        try:
            lags = await asyncio.wait_for(consumer_lag(api.settings.kafka.bootstrap), 5.0)
        except Exception as exc:  # the broker away: the other figures still count
            logger.warning("consumer lag unavailable (%s)", type(exc).__name__)
            lags = None
        await metrics.refresh(api.pool, await limiter.key_states(), lags)
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    app.state.page_limit = within_limit
    app.include_router(dashboard_router())
    return app


def _domain(raw: str) -> str:
    try:
        return normalize_domain(raw)
    except InvalidDomain as exc:
        raise Problem(422, "Invalid domain", f"not a domain: {exc.reason}") from None
