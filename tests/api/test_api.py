"""The HTTP API on loopback (uvicorn, real HTTP), over the real stack: keys (401, 403, revoked),
per-key limits shared through Redis (429 with Retry-After and RateLimit-*), the body cap (413),
problem details, every route, Prometheus metrics that move as a run proceeds, and a key that
never shows up in a log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from streams.api import create_key, revoke_key
from streams.config import Api, Settings
from tests.support.api import serving
from tests.support.groups import running_groups
from tests.support.kafka import wait_until

pytestmark = pytest.mark.stack

BURST = 30


@dataclass
class RunningApi:
    url: str
    settings: Settings
    pool: asyncpg.Pool
    read_key: str
    write_key: str


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(self.format(record))


@pytest.fixture(scope="module")
def logged() -> Iterator[list[str]]:
    lines: list[str] = []
    handler = _Collect(lines)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="module")
async def api(migrated: Settings, logged: list[str]) -> AsyncIterator[RunningApi]:
    settings = Settings(api=Api(per_minute=60, burst=BURST, max_body_bytes=20_000),
                        providers=["openai", "mistral"], web_presence_checks=False)
    pool = await asyncpg.create_pool(settings.postgres.dsn.get_secret_value(), min_size=1,
                                     max_size=2)
    assert pool is not None
    read_key, _ = await create_key(pool, name="test reader", scope="read")
    write_key, _ = await create_key(pool, name="test writer", scope="write")
    try:
        # uvicorn's own logging config off: its records reach the collecting root handler.
        async with serving(settings, log_level="debug", uvicorn_logging=False) as url:
            yield RunningApi(url, settings, pool, read_key, write_key)
    finally:
        await pool.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_health_needs_no_key(api: RunningApi) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        response = await client.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "postgres": True, "redis": True, "broker": True}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer dr_wrong", "Basic abc", "dr_x"])
async def test_no_key_or_a_wrong_one_is_401_as_problem_details(api: RunningApi,
                                                               header: str | None) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        response = await client.get("/v1/runs", headers={"Authorization": header}
                                    if header else {})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert (body["status"], body["title"]) == (401, "Unauthorized")
    assert "dr_wrong" not in response.text


async def test_a_revoked_key_is_401_and_a_read_key_cannot_write(api: RunningApi) -> None:
    key, record = await create_key(api.pool, name="short-lived", scope="write")
    async with httpx.AsyncClient(base_url=api.url) as client:
        assert (await client.get("/v1/runs", headers=bearer(key))).status_code == 200
        await revoke_key(api.pool, record.fingerprint)
        assert (await client.get("/v1/runs", headers=bearer(key))).status_code == 401
        forbidden = await client.post("/v1/runs", headers=bearer(api.read_key),
                                      json={"domains": [{"domain": "example.com"}]})
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"


async def test_over_the_limit_is_429_with_retry_after_for_every_replica(
        api: RunningApi) -> None:
    key, _ = await create_key(api.pool, name="busy", scope="read")
    # Two replicas on the same Redis: the limit is the key's, whichever replica answers. Two a
    # minute refill one token every 30 s, so however slow the machine, the burst is all.
    strict = api.settings.model_copy(update={"api": Api(per_minute=2, burst=BURST)})
    statuses = []
    async with serving(strict) as one, serving(strict) as two, httpx.AsyncClient() as client:
        replicas = (one, two)
        for i in range(BURST + 5):
            response = await client.get(f"{replicas[i % 2]}/v1/runs", headers=bearer(key))
            statuses.append(response.status_code)
            if response.status_code == 200:
                assert int(response.headers["ratelimit-limit"]) == BURST
                assert int(response.headers["ratelimit-remaining"]) >= 0
            else:
                refused = response
    assert statuses == [200] * BURST + [429] * 5, statuses
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 30
    assert refused.headers["ratelimit-remaining"] == "0"


async def test_a_body_over_the_cap_is_413(api: RunningApi) -> None:
    domains = [{"domain": f"brand-{i}.example"} for i in range(2_000)]
    async with httpx.AsyncClient(base_url=api.url) as client:
        declared = await client.post("/v1/runs", headers=bearer(api.write_key),
                                     json={"domains": domains})

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(50):
                yield b" " * 1_000

        streamed = await client.post("/v1/runs", headers={**bearer(api.write_key),
                                                          "Content-Type": "application/json"},
                                     content=chunks())
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"


async def test_invalid_input_is_a_specific_422(api: RunningApi) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        response = await client.post("/v1/runs", headers=bearer(api.write_key),
                                     json={"domains": [{"domain": "not a domain"}],
                                           "samples": 0})
        cursor = await client.get("/v1/runs", headers=bearer(api.read_key),
                                  params={"cursor": "garbage!"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "domains.0.domain" in detail and "not a domain" in detail and "samples" in detail
    assert cursor.status_code == 400 and "cursor" in cursor.json()["detail"]


async def test_publish_a_run_then_read_it_and_watch_the_metrics_move(api: RunningApi,
                                                                     simulator: Any) -> None:
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        before = await client.get("/metrics", headers=bearer(api.read_key))
        assert before.status_code == 200
        async with running_groups(["capture", "provider-calls"], api.settings):
            published = await client.post(
                "/v1/runs", headers=bearer(api.write_key),
                # Brands no other test asks about (the simulator counts a prompt paid twice
                # across the session as a duplicate).
                json={"domains": [{"domain": "https://www.API-Test-One.example/",
                                   "name": "Api Test One"},
                                  {"domain": "api-test-two.example"}], "samples": 1})
            assert published.status_code == 202, published.text
            run_id = published.json()["run_id"]

            async def finished() -> bool:
                run = await client.get(f"/v1/runs/{run_id}", headers=bearer(api.read_key))
                return bool(run.status_code == 200 and run.json()["status"] != "running")

            await wait_until(finished, timeout_s=120, what="the published run", every_s=0.5)
        run = (await client.get(f"/v1/runs/{run_id}", headers=bearer(api.read_key))).json()
        # Every run, a page of one at a time, newest first: the pages hold what PostgreSQL has.
        paged: list[str] = []
        cursor: str | None = None
        while True:
            page = (await client.get("/v1/runs", headers=bearer(api.read_key),
                                     params={"limit": 1, **({"cursor": cursor} if cursor
                                                            else {})})).json()
            paged += [item["run_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        after = await client.get("/metrics", headers=bearer(api.read_key))
        usage = await client.get("/v1/provider-usage", headers=bearer(api.read_key))
        keys = await client.get("/v1/api-keys", headers=bearer(api.write_key))
        docs = await client.get("/openapi.json")
    assert run["status"] == "complete" and run["coverage"] == 1.0
    assert {line["provider"] for line in run["providers"]} == {"openai", "mistral"}
    stored = [str(r["run_id"]) for r in await api.pool.fetch(
        "SELECT run_id FROM runs ORDER BY created_at DESC, run_id DESC")]
    assert paged == stored and paged[0] == run_id

    def series(text: str, name: str, **labels: str) -> float:
        for line in text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line
                                                   for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    ok_before = series(before.text, "dr_calls", provider="openai", status="ok")
    ok_after = series(after.text, "dr_calls", provider="openai", status="ok")
    assert ok_after >= ok_before + 6  # 2 domains × 3 prompts
    assert series(after.text, "dr_cost_usd", provider="openai") > 0
    assert series(after.text, "dr_api_requests_total", route="/v1/runs/{run_id}",
                  status="200") >= 1
    assert 'dr_consumer_lag{' in after.text
    assert {p["provider"] for p in usage.json()["providers"]} >= {"openai", "mistral"}
    fingerprints = {k["fingerprint"] for k in keys.json()["items"]}
    assert len(fingerprints) >= 2
    assert api.read_key not in keys.text and api.write_key not in keys.text
    assert "/v1/leaderboard" in docs.json()["paths"]


async def test_brand_and_project_routes_answer_404_as_problems_when_empty(
        api: RunningApi) -> None:
    async with httpx.AsyncClient(base_url=api.url) as client:
        brand = await client.get("/v1/brands/never-scored.example/scores",
                                 headers=bearer(api.read_key))
        history = await client.get("/v1/brands/never-scored.example/history",
                                   headers=bearer(api.read_key))
        board = await client.get("/v1/leaderboard", headers=bearer(api.read_key),
                                 params={"industry": "no such industry"})
        project = await client.get("/v1/projects/nope/report", headers=bearer(api.read_key))
        correlations = await client.get("/v1/correlations", headers=bearer(api.read_key),
                                        params={"domain": "never-scored.example"})
    assert brand.status_code == 404 and brand.json()["title"] == "Not Found"
    assert history.json() == {"items": [], "next_cursor": None}
    assert board.json()["items"] == []
    assert project.status_code == 404 and "no finished run" in project.json()["detail"]
    assert correlations.json() == {"items": [], "next_cursor": None}


def test_api_keys_create_prints_the_key_alone_on_the_last_line(migrated: Settings) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "streams.cli", "api-keys", "create", "--name", "cli test",
         "--scope", "read"], capture_output=True, text=True, timeout=60, env=os.environ.copy(),
        check=True)
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("dr_") and len(key) > 40
    assert key not in created.stderr
    listed = subprocess.run([sys.executable, "-m", "streams.cli", "api-keys", "list"],
                            capture_output=True, text=True, timeout=60, env=os.environ.copy(),
                            check=True)
    assert "cli test" in listed.stdout and key not in listed.stdout + listed.stderr


def test_no_key_reached_a_log_or_a_trace(api: RunningApi, logged: list[str],
                                          spans: InMemorySpanExporter) -> None:
    """Every record any logger wrote while this module's API served (uvicorn's access log,
    ours, the libraries'), and every span the session recorded (the run published through the
    API included), searched for the keys the tests sent."""
    assert len(logged) > 10
    finished = spans.get_finished_spans()
    assert finished, "the session recorded spans"
    traced = "\n".join(f"{span.name} {dict(span.attributes or {})!r} "
                       f"{[dict(e.attributes or {}) for e in span.events]!r}"
                       for span in finished)
    for text in ("\n".join(logged), traced):
        for key in (api.read_key, api.write_key):
            assert key not in text
            assert key[3:20] not in text
