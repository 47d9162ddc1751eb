"""The fetch policy for URLs from outside: which addresses are refused, and that a redirect to a
refused address is never connected to, for the web-presence check and for ``news ingest URL``.

The servers run on loopback, reachable only through an explicit host map (as
``DR_WEB_PRESENCE_HOSTS`` gives one); redirect targets outside the map must be refused."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web

from producers.news import fetch_source
from streams.inputs.safe_fetch import (
    RefusedAddress,
    SafeFetcher,
    TooManyRedirects,
    non_public,
    public_resolver,
)
from streams.inputs.text_input import InputError
from streams.runtime.http import create_http_client
from streams.validation.web_presence import WebPresenceChecker
from tests.support.websites import serving_app

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Acme launches a rocket</title><link>https://wire.example/1</link>
<pubDate>Tue, 10 Jun 2025 09:00:00 GMT</pubDate></item></channel></rss>"""


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "shared address space"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("255.255.255.255", "private"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "IPv4-mapped 127.0.0.1, loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped 10.0.0.1, private"),
    ("2002:7f00:1::1", "6to4 127.0.0.1, loopback"),
    ("2002:a9fe:a9fe::1", "6to4 169.254.169.254, link-local"),
    ("64:ff9b::a9fe:a9fe", "NAT64 169.254.169.254, link-local"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo client 192.0.2.45, private"),
    ("2001:db8::1", "private"),  # documentation
    ("8.8.8.8", None),
    ("1.1.1.1", None),
    ("2606:4700::1111", None),
    ("2a00:1450:4001:80b::200e", None),
    ("not-an-address", "not an IP address"),
])
def test_address_policy(address: str, why: str | None) -> None:
    assert non_public(address) == why


async def test_the_resolver_refuses_any_non_public_address() -> None:
    async def mixed(host: str, port: int) -> list[tuple[str, int]]:
        return [("8.8.8.8", port), ("10.0.0.5", port)]

    with pytest.raises(RefusedAddress) as refused:
        await public_resolver(resolver=mixed)("intranet.example", 443)
    assert str(refused.value) == (
        "intranet.example resolves to a non-public address 10.0.0.5 (private)")
    # An address literal is checked like a name; only the explicit host map is trusted.
    with pytest.raises(RefusedAddress) as literal:
        await public_resolver()("127.0.0.1", 80)
    assert str(literal.value) == "127.0.0.1 is a non-public address (loopback)"
    mapped = public_resolver({"site.test": "127.0.0.1:8080"})
    assert await mapped("site.test", 80) == [("127.0.0.1", 8080)]
    with pytest.raises(RefusedAddress):
        await mapped("localhost", 80)


@dataclass
class Servers:
    site_port: int  # mapped as site.test, other.test and metadata.test
    trap_port: int  # never mapped: nothing may reach it
    trap_requests: list[str] = field(default_factory=list)

    def hosts(self) -> dict[str, str]:
        return {name: f"127.0.0.1:{self.site_port}"
                for name in ("site.test", "other.test", "metadata.test")}


SERVERS = web.AppKey("servers", Servers)


async def _site(request: web.Request) -> web.StreamResponse:
    servers = request.app[SERVERS]
    if request.host.split(":")[0] == "metadata.test":  # a website whose home redirects
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
    redirects = {
        "/to-loopback": f"http://127.0.0.1:{servers.trap_port}/",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-localhost-name": f"http://localhost:{servers.trap_port}/",
        "/to-mapped": "http://other.test/feed",
        "/loop": "/loop",
    }
    if request.path in redirects:
        raise web.HTTPFound(redirects[request.path])
    if request.path == "/big":
        return web.Response(body=b"x" * 3_000_000, content_type="application/rss+xml")
    if request.path == "/":
        return web.Response(text="<title>Site</title>", content_type="text/html")
    return web.Response(text=FEED, content_type="application/rss+xml")


async def _trap(request: web.Request) -> web.StreamResponse:
    request.app[SERVERS].trap_requests.append(request.path)
    return web.Response(text="secret")


@asynccontextmanager
async def _serve(handler: Handler, servers: Servers) -> AsyncIterator[int]:
    app = web.Application()
    app[SERVERS] = servers
    app.router.add_route("GET", "/{tail:.*}", handler)
    async with serving_app(app) as port:
        yield port


@pytest.fixture(scope="module")
async def servers() -> AsyncIterator[Servers]:
    state = Servers(site_port=0, trap_port=0)
    async with _serve(_site, state) as site_port, _serve(_trap, state) as trap_port:
        state.site_port, state.trap_port = site_port, trap_port
        yield state


class Recording(httpx.AsyncBaseTransport):
    """Every request the client sends, by URL (the address it connects to)."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
async def sent() -> AsyncIterator[Recording]:
    transport = Recording()
    yield transport
    await transport.aclose()


@pytest.fixture
async def fetcher(servers: Servers, sent: Recording) -> AsyncIterator[SafeFetcher]:
    client = create_http_client(timeout_s=5, transport=sent)
    yield SafeFetcher(client, resolver=public_resolver(servers.hosts()), max_body_bytes=1_000_000)
    await client.aclose()


@pytest.mark.parametrize(("path", "refused"), [
    ("/to-loopback", "redirect to http://127.0.0.1:{trap}/: 127.0.0.1 is a non-public address "
                     "(loopback)"),
    ("/to-metadata", "redirect to http://169.254.169.254/latest/meta-data/: 169.254.169.254 is "
                     "a non-public address (link-local)"),
    ("/to-localhost-name", "redirect to http://localhost:{trap}/: localhost resolves to a "
                           "non-public address"),
])
async def test_a_redirect_to_a_non_public_address_is_refused_without_connecting(
        servers: Servers, sent: Recording, fetcher: SafeFetcher, path: str,
        refused: str) -> None:
    with pytest.raises(RefusedAddress) as caught:
        await fetcher.get(f"http://site.test{path}")
    assert str(caught.value).startswith(refused.format(trap=servers.trap_port))
    # The one request went to the mapped server; none to the target, none to the trap.
    assert sent.urls == [f"http://127.0.0.1:{servers.site_port}{path}"]
    assert servers.trap_requests == []


async def test_a_redirect_to_a_mapped_name_is_followed(servers: Servers, sent: Recording,
                                                       fetcher: SafeFetcher) -> None:
    reply = await fetcher.get("http://site.test/to-mapped")
    assert (reply.status, reply.url, reply.body.decode()) == (200, "http://other.test/feed", FEED)
    assert len(sent.urls) == 2


async def test_redirects_and_bodies_are_capped(fetcher: SafeFetcher) -> None:
    with pytest.raises(TooManyRedirects, match="more than 5 redirects"):
        await fetcher.get("http://site.test/loop")
    big = await fetcher.get("http://site.test/big")
    assert big.truncated and len(big.body) == 1_000_000


async def test_the_client_must_not_follow_redirects() -> None:
    async with httpx.AsyncClient(follow_redirects=True) as client:
        with pytest.raises(ValueError, match="must not follow redirects"):
            SafeFetcher(client)


async def test_web_presence_records_a_refused_redirect(servers: Servers,
                                                       sent: Recording) -> None:
    client = create_http_client(timeout_s=5, transport=sent)
    try:
        # The domain is mapped; its redirect target goes through the policy.
        checker = WebPresenceChecker(client, resolver=public_resolver(servers.hosts()),
                                     politeness_s=0.0, schemes=("http",))
        result = await checker.check("metadata.test")
    finally:
        await client.aclose()
    assert result.status == "refused"
    assert result.redirect_target == "http://169.254.169.254/latest/meta-data/"
    assert result.error == ("http://169.254.169.254/latest/meta-data/: refused: "
                            "169.254.169.254 is a non-public address (link-local)")
    assert result.http_status is None and result.title is None
    assert sent.urls == [f"http://127.0.0.1:{servers.site_port}/"]


async def test_web_presence_refuses_a_domain_on_a_private_address(sent: Recording) -> None:
    async def intranet(host: str, port: int) -> list[tuple[str, int]]:
        return [("10.0.0.5", port)]

    client = create_http_client(timeout_s=5, transport=sent)
    try:
        checker = WebPresenceChecker(client, resolver=public_resolver(resolver=intranet),
                                     politeness_s=0.0)
        result = await checker.check("intranet.example")
    finally:
        await client.aclose()
    assert result.status == "refused"
    assert result.error == ("https://intranet.example/: refused: intranet.example resolves to a "
                            "non-public address 10.0.0.5 (private)")
    assert sent.urls == []  # not even the https attempt, and no fallback to http


async def test_news_url_redirected_to_the_metadata_service(servers: Servers,
                                                           fetcher: SafeFetcher) -> None:
    with pytest.raises(InputError) as caught:
        await fetch_source("http://site.test/to-metadata", fetcher)
    assert str(caught.value) == (
        "http://site.test/to-metadata: redirect to http://169.254.169.254/latest/meta-data/: "
        "169.254.169.254 is a non-public address (link-local)")
    with pytest.raises(InputError, match=r"^http://site.test/big: larger than 1000000 bytes"):
        await fetch_source("http://site.test/big", fetcher)
    feed = await fetch_source("http://site.test/feed", fetcher)
    assert [item.headline for item in feed.items] == ["Acme launches a rocket"]


async def test_news_ingest_command_refuses_a_redirect_out_of_the_host_map(
        servers: Servers) -> None:
    # The command's own wiring: DR_WEB_PRESENCE_HOSTS maps site.test, nothing else.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams.cli", "news", "ingest", "http://site.test/to-loopback",
        "--dry-run", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "DR_WEB_PRESENCE_HOSTS": json.dumps(servers.hosts())})
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert out == b""
    assert err.decode().splitlines() == [
        f"not ingested: http://site.test/to-loopback: redirect to "
        f"http://127.0.0.1:{servers.trap_port}/: 127.0.0.1 is a non-public address (loopback)"]
    assert servers.trap_requests == []
