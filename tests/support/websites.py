"""Websites on loopback for web-presence tests: one aiohttp server that answers by ``Host``,
plus a port nothing listens on; names resolve through a host map, never external DNS."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

ORGANIZATION = {"@type": "Organization", "name": "Hosted Brand Inc.", "url": "http://hosted.test/",
                "foundingDate": "1999", "sameAs": ["https://example.org/hosted"]}
HOSTED = f"""<!doctype html><html><head><title>  Hosted Brand —
  Home </title><script type="application/ld+json">{json.dumps({
    "@context": "https://schema.org",
    "@graph": [{"@type": "WebSite", "name": "Hosted"}, ORGANIZATION]})}</script></head>
<body><h1>Welcome</h1></body></html>"""
PARKED = """<html><head><title>parked.test</title></head><body>
<p>This domain may be for sale! Buy this domain now.</p>
<script src="https://www.parkingcrew.net/public/js/parking.js"></script></body></html>"""


@dataclass
class Sites:
    port: int
    closed_port: int
    requests: list[tuple[str, str, float]] = field(default_factory=list)  # host, path, time

    def hosts(self) -> dict[str, str]:
        served = ("hosted.test", "www.hosted.test", "parked.test", "redirecting.test",
                  "elsewhere.test", "forsale.test", "slow.test", "loop.test", "www-only.test",
                  "www.www-only.test", "broken.test")
        return {name: f"127.0.0.1:{self.port}" for name in served} | {
            "unreachable.test": f"127.0.0.1:{self.closed_port}"}


SITES = web.AppKey("sites", Sites)


async def _site(request: web.Request) -> web.StreamResponse:
    sites = request.app[SITES]
    host = (request.host or "").split(":")[0]
    sites.requests.append((host, request.path, time.monotonic()))
    if host in ("hosted.test", "www.hosted.test"):
        return web.Response(text=HOSTED, content_type="text/html")
    if host == "parked.test":
        return web.Response(text=PARKED, content_type="text/html")
    if host == "redirecting.test":
        raise web.HTTPMovedPermanently("http://elsewhere.test/landing")
    if host == "elsewhere.test":
        return web.Response(text="<title>Elsewhere</title>", content_type="text/html")
    if host == "forsale.test":
        raise web.HTTPFound("https://dan.com/buy-domain/forsale.test")
    if host == "www-only.test":
        raise web.HTTPMovedPermanently(f"http://www.www-only.test:{sites.port}/")
    if host == "www.www-only.test":
        return web.Response(text="<title>WWW only</title>", content_type="text/html")
    if host == "loop.test":
        raise web.HTTPFound("/again")
    if host == "broken.test":
        raise web.HTTPFound("http://nowhere.test/")
    if host == "slow.test":
        await asyncio.sleep(30)
    # Any other name (a brand's domain in the end-to-end test) is a plain hosted site.
    return web.Response(text=f"<html><title>{host}</title></html>", content_type="text/html")


@asynccontextmanager
async def serving_app(app: web.Application) -> AsyncIterator[int]:
    """An aiohttp app on a loopback port (yielded) until the block ends."""
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_sites() -> AsyncIterator[Sites]:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = web.Application()
    app[SITES] = state = Sites(port=0, closed_port=closed_port)
    app.router.add_route("GET", "/{tail:.*}", _site)
    async with serving_app(app) as port:
        state.port = port
        yield state
