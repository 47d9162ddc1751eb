"""Is there a website behind a domain? DNS, then its home page over HTTPS (else HTTP), following
redirects by hand so the target is recorded, classified ``hosted | parked | redirecting |
unreachable``.

Every step is bounded (per-request timeout, a total deadline, a capped body); requests to one
host are spaced by a politeness delay. Connections go to the resolved address with the name in
``Host`` (and TLS SNI), so the resolver is the one seam: tests map names to loopback servers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx

from streams.validation.pages import PageSignals, parking_host, read_page

if TYPE_CHECKING:
    from streams.config import Settings

PresenceStatus = Literal["hosted", "parked", "redirecting", "unreachable"]
Address = tuple[str, int]
Resolver = Callable[[str, int], Awaitable[list[Address]]]

CHECKER_VERSION = "wp-1"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"https": 443, "http": 80}
_HTML_TYPES = ("text/html", "application/xhtml")
_MAX_ADDRESSES = 3


class ResolutionError(OSError):
    """The host name has no address."""


async def system_resolver(host: str, port: int) -> list[Address]:
    """The operating system's resolver (``getaddrinfo``), without blocking the event loop."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ResolutionError(f"{host}: {exc.strerror or exc}") from None
    addresses: list[Address] = []
    for *_, sockaddr in infos:
        address = (str(sockaddr[0]), int(sockaddr[1]))
        if address not in addresses:
            addresses.append(address)
    return addresses


def static_resolver(hosts: Mapping[str, str], fallback: Resolver | None = None) -> Resolver:
    """Names mapped to ``"ip:port"`` (or ``"ip"``, keeping the port asked for) like an
    ``/etc/hosts`` with ports; ``"*"`` maps every other name. Others go to ``fallback``."""

    async def resolve(host: str, port: int) -> list[Address]:
        target = hosts.get(host.lower()) or hosts.get("*")
        if target is None:
            if fallback is None:
                raise ResolutionError(f"{host}: not in the host map")
            return await fallback(host, port)
        ip, sep, mapped_port = target.rpartition(":") if target.count(":") == 1 else \
            (target, "", "")
        return [(ip, int(mapped_port))] if sep else [(target, port)]

    return resolve


class Politeness:
    """Spaces requests to one host by ``delay_s``: each request takes the host's next slot."""

    def __init__(self, delay_s: float) -> None:
        self._delay_s = delay_s
        self._next: dict[str, float] = {}

    async def wait(self, host: str) -> None:
        now = time.monotonic()
        if len(self._next) > 10_000:
            self._next = {h: t for h, t in self._next.items() if t > now}
        # No await between reading and taking the slot, so concurrent callers queue up.
        start = max(now, self._next.get(host, 0.0))
        self._next[host] = start + self._delay_s
        if start > now:
            await asyncio.sleep(start - now)


@dataclass(frozen=True, kw_only=True)
class WebPresence:
    domain: str
    status: PresenceStatus
    checked_on: date
    addresses: tuple[str, ...] = ()
    http_status: int | None = None
    final_url: str | None = None
    redirect_target: str | None = None
    redirects: int = 0
    title: str | None = None
    organization: dict[str, Any] | None = None
    parked_marker: str | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    checker_version: str = CHECKER_VERSION


@dataclass
class _Fetch:
    """What following one URL's redirects found."""

    chain: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    answered: bool = False  # some hop returned an HTTP response
    status: int | None = None  # of the last hop; None if it failed
    page: PageSignals | None = None
    errors: list[str] = field(default_factory=list)
    too_many_redirects: bool = False


class WebPresenceChecker:
    """Checks domains with the shared httpx client (which must not follow redirects itself)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        resolver: Resolver = system_resolver,
        request_timeout_s: float = 5.0,
        total_timeout_s: float = 15.0,
        politeness_s: float = 1.0,
        max_redirects: int = 5,
        max_body_bytes: int = 512_000,
        schemes: tuple[str, ...] = ("https", "http"),
    ) -> None:
        if client.follow_redirects:
            raise ValueError("the client must not follow redirects: the checker records them")
        self._client = client
        self._resolver = resolver
        self._request_timeout = httpx.Timeout(request_timeout_s)
        self._total_timeout_s = total_timeout_s
        self._politeness = Politeness(politeness_s)
        self._max_redirects = max_redirects
        self._max_body_bytes = max_body_bytes
        self._schemes = schemes

    async def check(self, domain: str) -> WebPresence:
        """Never raises for network trouble: that is what ``unreachable`` reports."""
        started = time.monotonic()
        today = datetime.now(UTC).date()
        fetch = _Fetch()
        errors: list[str] = []
        try:
            async with asyncio.timeout(self._total_timeout_s):
                for scheme in self._schemes:
                    fetch = _Fetch(chain=[f"{scheme}://{domain}/"], errors=errors,
                                   addresses=fetch.addresses)
                    await self._follow(fetch)
                    if fetch.answered or not fetch.addresses:
                        break  # answered, or no address: another scheme will not help
        except TimeoutError:
            fetch.status = None
            errors.append(f"no answer within {self._total_timeout_s:g} s")
        elapsed_ms = (time.monotonic() - started) * 1000
        return _classify(domain, fetch, today, elapsed_ms)

    async def _follow(self, fetch: _Fetch) -> None:
        for _ in range(self._max_redirects + 1):
            url = fetch.chain[-1]
            fetch.status, fetch.page = None, None
            try:
                status, location, page = await self._get(url, fetch)
            except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
                fetch.errors.append(f"{url}: {type(exc).__name__}: {exc}".rstrip(": "))
                return
            fetch.answered = True
            fetch.status, fetch.page = status, page
            if status not in _REDIRECTS or not location:
                return
            fetch.chain.append(urljoin(url, location))
            if parking_host(fetch.chain[-1]):
                return
        fetch.too_many_redirects = True

    async def _get(self, url: str, fetch: _Fetch) -> tuple[int, str | None, PageSignals | None]:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise httpx.UnsupportedProtocol(f"cannot fetch {url}")
        host = parts.hostname
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        addresses = await self._resolver(host, port)
        if not addresses:
            raise ResolutionError(f"{host}: no address")
        if len(fetch.chain) == 1:  # the domain's own addresses, not a redirect target's
            fetch.addresses.extend(ip for ip, _ in addresses if ip not in fetch.addresses)
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        failure: httpx.TransportError | None = None
        # The next address when one does not connect (an IPv6 address without an IPv6 route).
        for ip, ip_port in addresses[:_MAX_ADDRESSES]:
            target = httpx.URL(scheme=parts.scheme, host=ip, port=ip_port,
                               path=parts.path or "/", query=parts.query.encode())
            await self._politeness.wait(host)
            try:
                return await self._request(target, host, host_header)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def _request(self, target: httpx.URL, host: str,
                       host_header: str) -> tuple[int, str | None, PageSignals | None]:
        # TLS verifies the name given as SNI. "connection: close", because pooled connections
        # are keyed by address: a later request for another name on the same address (a CDN)
        # must not reuse a connection whose certificate was checked for this one.
        async with self._client.stream(
            "GET", target, timeout=self._request_timeout, extensions={"sni_hostname": host},
            headers={"host": host_header, "accept": "text/html,*/*;q=0.5",
                     "connection": "close"},
        ) as response:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS:
                return response.status_code, location, None
            content_type = response.headers.get("content-type", "text/html").lower()
            if not any(kind in content_type for kind in _HTML_TYPES):
                return response.status_code, location, None
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= self._max_body_bytes:
                    break
            return response.status_code, location, read_page(
                _decode(bytes(body), response.charset_encoding))


def checker_from_settings(client: httpx.AsyncClient, settings: Settings) -> WebPresenceChecker:
    """The checker as configured (``DR_WEB_PRESENCE_*``): the group's and the command's."""
    resolver = (static_resolver(settings.web_presence_hosts, fallback=system_resolver)
                if settings.web_presence_hosts else system_resolver)
    return WebPresenceChecker(
        client, resolver=resolver, total_timeout_s=settings.web_presence_timeout_s,
        request_timeout_s=min(5.0, settings.web_presence_timeout_s),
        politeness_s=settings.web_presence_politeness_s,
    )


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def _same_site(domain: str, host: str) -> bool:
    """``www.example.com`` and ``shop.example.com`` are example.com; another name is not."""
    host = host.lower().rstrip(".")
    return host == domain or host.endswith("." + domain) or domain.endswith("." + host)


def _classify(domain: str, fetch: _Fetch, today: date, elapsed_ms: float) -> WebPresence:
    final_url = fetch.chain[-1] if fetch.chain else None
    final_host = urlsplit(final_url).hostname if final_url else None
    left_site = final_host is not None and not _same_site(domain, final_host)
    page = fetch.page
    parked_marker = (f"redirect: {host}" if final_url and (host := parking_host(final_url))
                     else page.parked_marker if page else None)
    status: PresenceStatus
    if parked_marker:
        status = "parked"
    elif left_site or fetch.too_many_redirects:
        status = "redirecting"
    elif fetch.status is None:
        # No answer, or a redirect within the site led nowhere.
        status = "unreachable"
    else:
        status = "hosted"
    return WebPresence(
        domain=domain,
        status=status,
        checked_on=today,
        addresses=tuple(fetch.addresses),
        http_status=fetch.status,
        final_url=final_url if fetch.status is not None else None,
        redirect_target=final_url if left_site or fetch.too_many_redirects else None,
        redirects=max(len(fetch.chain) - 1, 0),
        title=page.title if page else None,
        organization=page.organization if page else None,
        parked_marker=parked_marker,
        # An earlier scheme's failure is noise once another answered.
        error=("; ".join(fetch.errors) or None) if fetch.status is None else None,
        elapsed_ms=round(elapsed_ms, 1),
    )
