"""The web-presence check against real HTTP servers on loopback (``websites``): hosted, parked,
redirecting and unreachable, with bounded time and per-host politeness."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from streams.inputs.safe_fetch import ResolutionError, static_resolver, system_resolver
from streams.runtime.http import create_http_client
from streams.validation.web_presence import WebPresenceChecker
from tests.support.websites import Sites, serve_sites


@pytest.fixture(scope="module")
async def sites() -> AsyncIterator[Sites]:
    async with serve_sites() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = create_http_client(timeout_s=5)
    yield client
    await client.aclose()


def checker(http: httpx.AsyncClient, sites: Sites, **options: object) -> WebPresenceChecker:
    settings: dict[str, object] = {"politeness_s": 0.0, "request_timeout_s": 2.0,
                                   "total_timeout_s": 5.0}
    settings.update(options)
    return WebPresenceChecker(http, resolver=static_resolver(sites.hosts()),
                              **settings)  # type: ignore[arg-type]


async def test_hosted_page_with_title_and_organization(http: httpx.AsyncClient,
                                                       sites: Sites) -> None:
    # HTTPS first (the plain-HTTP server refuses the handshake), then HTTP.
    result = await checker(http, sites).check("hosted.test")
    assert result.status == "hosted"
    assert result.http_status == 200
    assert result.addresses == ("127.0.0.1",)
    assert result.final_url == "http://hosted.test/"
    assert result.title == "Hosted Brand — Home"
    assert result.organization is not None
    assert result.organization["name"] == "Hosted Brand Inc."
    assert result.organization["foundingDate"] == "1999"
    assert result.redirect_target is None and result.parked_marker is None
    assert result.error is None


async def test_parked_page(http: httpx.AsyncClient, sites: Sites) -> None:
    result = await checker(http, sites, schemes=("http",)).check("parked.test")
    assert result.status == "parked"
    assert result.parked_marker is not None
    assert "parkingcrew.net" in result.parked_marker or "for sale" in result.parked_marker
    assert result.title == "parked.test"


async def test_redirect_to_a_marketplace_is_parked_without_fetching_it(
        http: httpx.AsyncClient, sites: Sites) -> None:
    result = await checker(http, sites, schemes=("http",)).check("forsale.test")
    assert result.status == "parked"
    assert result.parked_marker == "redirect: dan.com"
    assert result.http_status == 302


async def test_redirecting_records_the_target(http: httpx.AsyncClient, sites: Sites) -> None:
    result = await checker(http, sites, schemes=("http",)).check("redirecting.test")
    assert result.status == "redirecting"
    assert result.redirect_target == "http://elsewhere.test/landing"
    assert result.redirects == 1
    assert result.http_status == 200 and result.title == "Elsewhere"


async def test_redirect_within_the_site_is_still_hosted(http: httpx.AsyncClient,
                                                        sites: Sites) -> None:
    result = await checker(http, sites, schemes=("http",)).check("www-only.test")
    assert result.status == "hosted"
    assert result.redirects == 1 and result.redirect_target is None
    assert result.final_url == f"http://www.www-only.test:{sites.port}/"
    assert result.title == "WWW only"


async def test_redirect_loop_and_dead_target_are_redirecting(http: httpx.AsyncClient,
                                                             sites: Sites) -> None:
    looping = await checker(http, sites, schemes=("http",), max_redirects=3).check("loop.test")
    assert looping.status == "redirecting" and looping.redirects == 4
    broken = await checker(http, sites, schemes=("http",)).check("broken.test")
    assert broken.status == "redirecting"
    assert broken.redirect_target == "http://nowhere.test/"
    assert broken.error is not None and "nowhere.test" in broken.error


async def test_closed_port_is_unreachable(http: httpx.AsyncClient, sites: Sites) -> None:
    result = await checker(http, sites).check("unreachable.test")
    assert result.status == "unreachable"
    assert result.http_status is None and result.title is None
    assert result.error is not None and "ConnectError" in result.error


async def test_the_next_address_when_one_does_not_connect(http: httpx.AsyncClient,
                                                           sites: Sites) -> None:
    async def two_addresses(host: str, port: int) -> list[tuple[str, int]]:
        return [("127.0.0.1", sites.closed_port), ("127.0.0.1", sites.port)]

    result = await WebPresenceChecker(http, resolver=two_addresses, politeness_s=0.0,
                                      schemes=("http",)).check("hosted.test")
    assert result.status == "hosted" and result.title == "Hosted Brand — Home"


async def test_unresolvable_name_is_unreachable(http: httpx.AsyncClient, sites: Sites) -> None:
    result = await checker(http, sites).check("nodns.test")
    assert result.status == "unreachable"
    assert result.addresses == ()
    assert result.error is not None and "ResolutionError" in result.error


async def test_a_silent_server_is_unreachable_within_the_total_timeout(
        http: httpx.AsyncClient, sites: Sites) -> None:
    started = time.monotonic()
    result = await checker(http, sites, schemes=("http",), request_timeout_s=10.0,
                           total_timeout_s=0.5).check("slow.test")
    assert time.monotonic() - started < 2.0
    assert result.status == "unreachable"
    assert result.error == "no answer within 0.5 s"


async def test_requests_to_one_host_are_spaced(http: httpx.AsyncClient, sites: Sites) -> None:
    polite = checker(http, sites, schemes=("http",), politeness_s=0.4)
    sites.requests.clear()
    await asyncio.gather(polite.check("hosted.test"), polite.check("hosted.test"),
                         polite.check("parked.test"))
    hosted = sorted(t for host, _, t in sites.requests if host == "hosted.test")
    parked = [t for host, _, t in sites.requests if host == "parked.test"]
    assert len(hosted) == 2 and hosted[1] - hosted[0] >= 0.35
    assert parked[0] - hosted[0] < 0.3  # another host does not wait


async def test_resolvers() -> None:
    mapped = static_resolver({"a.test": "10.1.2.3:8080", "b.test": "10.1.2.4"})
    assert await mapped("a.test", 443) == [("10.1.2.3", 8080)]
    assert await mapped("B.test", 443) == [("10.1.2.4", 443)]
    with pytest.raises(ResolutionError):
        await mapped("c.test", 80)
    everything = static_resolver({"*": "127.0.0.1:9"})
    assert await everything("anything.example", 80) == [("127.0.0.1", 9)]
    # The system resolver on a literal address: no DNS query leaves the machine.
    assert await system_resolver("127.0.0.1", 80) == [("127.0.0.1", 80)]


async def test_a_client_that_follows_redirects_is_refused() -> None:
    async with httpx.AsyncClient(follow_redirects=True) as client:
        with pytest.raises(ValueError, match="must not follow redirects"):
            WebPresenceChecker(client)
