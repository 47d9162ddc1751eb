"""Web presence in PostgreSQL: at most one check per domain and day, the group's scheduler
bounded per batch, and the ``presence check`` and ``facts load`` commands."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from streams.config import Settings
from streams.inputs.safe_fetch import public_resolver, static_resolver
from streams.runtime.http import create_http_client
from streams.runtime.postgres import create_pool
from streams.validation.presence_store import (
    PresenceScheduler,
    check_domains,
    load_presence,
    today,
)
from streams.validation.web_presence import WebPresenceChecker
from tests.support.websites import Sites, serve_sites

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
async def sites() -> AsyncIterator[Sites]:
    async with serve_sites() as running:
        yield running


@pytest.fixture
async def pool(migrated: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(migrated, max_size=2)
    yield pool
    await pool.close()


@pytest.fixture
async def checker(sites: Sites) -> AsyncIterator[WebPresenceChecker]:
    http = create_http_client(timeout_s=5)
    yield WebPresenceChecker(http, resolver=static_resolver({"*": f"127.0.0.1:{sites.port}"}),
                             politeness_s=0.0, schemes=("http",))
    await http.aclose()


def _unique(label: str) -> str:
    return f"{label}-{os.urandom(4).hex()}.test"


async def test_checked_once_a_day_unless_forced(pool: asyncpg.Pool, sites: Sites,
                                                checker: WebPresenceChecker) -> None:
    domain = _unique("daily")
    sites.requests.clear()
    (first,) = await check_domains(pool, checker, [domain])
    (again,) = await check_domains(pool, checker, [domain])
    assert first.status == again.status == "hosted" and again.title == domain
    assert [host for host, _, _ in sites.requests] == [domain]  # the second came from the table
    (forced,) = await check_domains(pool, checker, [domain], force=True)
    assert len(sites.requests) == 2 and forced.status == "hosted"
    rows = await pool.fetch("SELECT * FROM web_presence WHERE domain = $1", domain)
    assert len(rows) == 1
    assert rows[0]["checked_on"] == today() and rows[0]["http_status"] == 200


async def test_scheduler_checks_a_bounded_number_per_batch(
        pool: asyncpg.Pool, sites: Sites, checker: WebPresenceChecker) -> None:
    domains = [_unique(f"seen{i}") for i in range(5)]
    scheduler = PresenceScheduler(pool, checker, per_batch=2)
    sites.requests.clear()
    assert len(await scheduler.run(domains[:3])) == 2
    assert scheduler.due == 1
    assert len(await scheduler.run(domains[2:])) == 2  # the one left over goes first
    assert len(await scheduler.run(domains)) == 1
    assert await scheduler.run(domains) == [] and scheduler.due == 0
    assert sorted(host for host, _, _ in sites.requests) == sorted(domains)
    # Another process (a new scheduler) finds today's rows and checks nothing again.
    assert await PresenceScheduler(pool, checker, per_batch=5).run(domains) == []
    assert len(sites.requests) == len(domains)


async def test_a_refused_check_is_stored_with_its_reason(pool: asyncpg.Pool) -> None:
    async def intranet(host: str, port: int) -> list[tuple[str, int]]:
        return [("10.0.0.5", port)]

    domain = _unique("intranet")
    http = create_http_client(timeout_s=5)
    try:
        checker = WebPresenceChecker(http, resolver=public_resolver(resolver=intranet),
                                     politeness_s=0.0)
        (result,) = await check_domains(pool, checker, [domain])
    finally:
        await http.aclose()
    row = await pool.fetchrow("SELECT status, error FROM web_presence WHERE domain = $1", domain)
    assert (row["status"], row["error"]) == ("refused", (
        f"https://{domain}/: refused: {domain} resolves to a non-public address 10.0.0.5 "
        f"(private)"))
    assert (await load_presence(pool, [domain], today()))[domain] == result


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def _cli(*args: str, env: dict[str, str] | None = None) -> Ran:
    """The command in a child process, without blocking this loop (it serves the websites)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams.cli", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})})
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Ran(process.returncode, stdout.decode(), stderr.decode())


async def test_cli_facts_load_and_presence_check(pool: asyncpg.Pool, sites: Sites,
                                                 tmp_path: Path) -> None:
    facts = tmp_path / "facts.jsonl"
    domain = _unique("cli")
    facts.write_text(json.dumps({"domain": domain, "name": "Cli Brand", "founded": 2001,
                                 "founders": ["Ann Lee"]}) + "\n")
    loaded = await _cli("facts", "load", str(facts))
    assert loaded.returncode == 0, loaded.stderr
    row = await pool.fetchrow("SELECT * FROM facts WHERE domain = $1", domain)
    assert (row["name"], row["founded"], row["founders"], row["source"]) == (
        "Cli Brand", 2001, ["Ann Lee"], str(facts))
    bad = tmp_path / "bad.csv"
    bad.write_text("domain,name\nnot a domain,X\n")
    refused = await _cli("facts", "load", str(bad))
    assert refused.returncode == 2 and "bad.csv:2" in refused.stderr

    checked = await _cli("presence", "check", domain, "--json",
                   env={"DR_WEB_PRESENCE_HOSTS": json.dumps({"*": f"127.0.0.1:{sites.port}"}),
                        "DR_WEB_PRESENCE_POLITENESS_S": "0"})
    assert checked.returncode == 0, checked.stderr
    (result,) = json.loads(checked.stdout)
    assert (result["domain"], result["status"], result["title"]) == (domain, "hosted", domain)
