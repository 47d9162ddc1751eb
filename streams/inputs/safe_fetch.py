"""The one way a URL that came from outside (a domain's website, a news feed, and wherever they
redirect) is fetched, so that input cannot make this process reach its own network: loopback,
private ranges, link-local addresses such as the cloud metadata service at 169.254.169.254.

- The name is resolved here (``getaddrinfo``), and a name with any address that is not public
  is refused (``non_public``) before anything connects.
- The connection goes to the address that was checked, the name travelling in ``Host`` and as
  TLS SNI (the certificate is verified for the name): no second lookup can answer differently.
- Redirects are followed by hand, a few at most, each target resolved and checked the same way.
- Bodies are capped (``max_body_bytes``), each request and a whole ``get`` bounded in time.

The resolver is the seam. ``public_resolver`` (the default) enforces the policy; its host map
(``DR_WEB_PRESENCE_HOSTS``: name → ``ip:port``, ``*`` for any) is the operator's explicit choice
and is trusted as given, which is how tests reach servers on loopback. A name the map does not
hold is checked even when it is an address literal (``http://127.0.0.1/`` is refused).

Errors, on one root::

    FetchError            this module refused or could not do a fetch
    ├── ResolutionError   the name has no address
    ├── RefusedAddress    the name resolves to a non-public address
    ├── UnsupportedURL    not http(s), or no host
    ├── TooManyRedirects  more redirects than allowed
    └── FetchTimeout      the whole fetch took longer than allowed

Network failures (refused connections, TLS, timeouts of one request) stay ``httpx`` errors."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from streams.errors import DomainRunnerError

Address = tuple[str, int]
Resolver = Callable[[str, int], Awaitable[list[Address]]]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"https": 443, "http": 80}
# A page, a feed: far above what either needs, small enough that a hostile server cannot fill
# memory.
MAX_BODY_BYTES = 2 * 1024 * 1024
_MAX_ADDRESSES = 3  # tried in turn when one does not connect (IPv6 without a route)
# 100.64.0.0/10 is not global, but Python does not call it private either.
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FetchError(DomainRunnerError):
    """A fetch this module refused or could not do; the message says why."""


class ResolutionError(FetchError):
    """The host name has no address."""


class RefusedAddress(FetchError):
    """The host name resolves to an address that is not public (``redirect``: the URL a
    redirect led to, when it was not the one asked for)."""

    def __init__(self, host: str, address: str, why: str, *, redirect: str | None = None) -> None:
        refusal = (f"{address} is a non-public address ({why})" if host == address
                   else f"{host} resolves to a non-public address {address} ({why})")
        super().__init__(f"redirect to {redirect}: {refusal}" if redirect else refusal)
        self.host = host
        self.address = address
        self.why = why
        self.redirect = redirect


class UnsupportedURL(FetchError):
    """Not an http(s) URL with a host."""


class TooManyRedirects(FetchError):
    """More redirects than the fetch allows."""


class FetchTimeout(FetchError):
    """The whole fetch, redirects included, took longer than allowed."""


def non_public(address: str) -> str | None:
    """Why ``address`` is not a public one (``"loopback"``, ``"private"``, …), or None when it
    is. An IPv6 address that carries an IPv4 one (IPv4-mapped, 6to4, Teredo, NAT64) must pass
    for both, since that is where a packet to it ends up."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        for form, embedded in _embedded_ipv4(ip):
            if why := _non_public_kind(embedded):
                return f"{form} {embedded}, {why}"
    return _non_public_kind(ip)


def _non_public_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local"),
        (ip in _SHARED_ADDRESS_SPACE, "shared address space"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    )
    return next((why for refused, why in checks if refused), None)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo server", server), ("Teredo client", client)]
    if ip in _NAT64:
        found.append(("NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return found


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


def public_resolver(hosts: Mapping[str, str] | None = None,
                    resolver: Resolver = system_resolver) -> Resolver:
    """Names in ``hosts`` as mapped (trusted); every other name through ``resolver``, refused
    with ``RefusedAddress`` unless every address it gives is public."""

    async def checked(host: str, port: int) -> list[Address]:
        addresses = await resolver(host, port)
        for ip, _ in addresses:
            if why := non_public(ip):
                raise RefusedAddress(host, ip, why)
        return addresses

    return static_resolver(hosts, fallback=checked) if hosts else checked


@dataclass(frozen=True)
class Target:
    """A URL with the addresses its host resolved to (and passed the resolver's policy); only
    ``SafeFetcher.resolve`` makes one, and ``SafeFetcher.request`` connects only to these."""

    url: str
    scheme: str
    host: str
    port: int | None  # as written in the URL
    path: str
    query: str
    addresses: tuple[Address, ...]


@dataclass(frozen=True)
class Reply:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes  # at most max_body_bytes; empty for a redirect or when not read
    truncated: bool  # the body went on beyond max_body_bytes
    charset: str | None

    @property
    def location(self) -> str | None:
        location = self.headers.get("location")
        return None if location is None else str(location)

    @property
    def is_redirect(self) -> bool:
        return self.status in REDIRECT_STATUSES and bool(self.location)


class SafeFetcher:
    """Fetches outside URLs through a shared ``httpx.AsyncClient``, which must not follow
    redirects itself (each target has to be checked first)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        resolver: Resolver | None = None,
        request_timeout_s: float = 10.0,
        total_timeout_s: float = 30.0,
        max_redirects: int = 5,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if client.follow_redirects:
            raise ValueError("the client must not follow redirects: each target is checked")
        self._client = client
        self._resolver = resolver or public_resolver()
        self._request_timeout = httpx.Timeout(request_timeout_s)
        self._total_timeout_s = total_timeout_s
        self._max_redirects = max_redirects
        self.max_body_bytes = max_body_bytes

    async def resolve(self, url: str) -> Target:
        """The URL's host resolved by the resolver (so checked by its policy)."""
        try:
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
        except ValueError as exc:  # a bad port, a broken IPv6 literal
            raise UnsupportedURL(f"cannot fetch {url[:200]}: {exc}") from None
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise UnsupportedURL(f"cannot fetch {url[:200]}")
        addresses = await self._resolver(parts.hostname, port)
        if not addresses:
            raise ResolutionError(f"{parts.hostname}: no address")
        return Target(url=url, scheme=parts.scheme, host=parts.hostname, port=parts.port,
                      path=parts.path or "/", query=parts.query, addresses=tuple(addresses))

    async def request(self, target: Target, *, accept: str = "*/*",
                      read_body: Callable[[httpx.Response], bool] | None = None,
                      headers: Mapping[str, str] | None = None) -> Reply:
        """One GET of ``target``, never following a redirect; the next address when one does
        not connect. The body (unless ``read_body`` says no) is read up to the cap."""
        failure: httpx.TransportError | None = None
        for ip, port in target.addresses[:_MAX_ADDRESSES]:
            try:
                return await self._request(target, ip, port, accept, read_body, headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def get(self, url: str, *, accept: str = "*/*",
                  headers: Mapping[str, str] | None = None) -> Reply:
        """``url``, following up to ``max_redirects`` redirects (each target resolved and
        checked before it is connected to), within ``total_timeout_s``. ``headers`` add to the
        request's own (a conditional GET's validators), never replace them."""
        try:
            async with asyncio.timeout(self._total_timeout_s):
                for hop in range(self._max_redirects + 1):
                    try:
                        target = await self.resolve(url)
                    except RefusedAddress as exc:
                        if hop == 0:
                            raise
                        raise RefusedAddress(exc.host, exc.address, exc.why,
                                             redirect=url) from None
                    reply = await self.request(target, accept=accept, headers=headers)
                    if not reply.is_redirect:
                        return reply
                    assert reply.location is not None
                    url = urljoin(url, reply.location)
        except TimeoutError:
            raise FetchTimeout(f"no answer within {self._total_timeout_s:g} s") from None
        raise TooManyRedirects(f"more than {self._max_redirects} redirects")

    async def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> int:
        """One POST of ``body`` to ``url`` (a webhook), resolved and checked as a GET is; a
        redirect is not followed (its status is returned). Returns the status."""
        try:
            async with asyncio.timeout(self._total_timeout_s):
                target = await self.resolve(url)
                host_header = (target.host if target.port is None
                               else f"{target.host}:{target.port}")
                failure: httpx.TransportError | None = None
                for ip, port in target.addresses[:_MAX_ADDRESSES]:
                    address = httpx.URL(scheme=target.scheme, host=ip, port=port,
                                        path=target.path, query=target.query.encode() or None)
                    try:
                        response = await self._client.request(
                            "POST", address, content=body, timeout=self._request_timeout,
                            extensions={"sni_hostname": target.host},
                            headers={**headers, "host": host_header, "connection": "close"})
                        return response.status_code
                    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                        failure = exc
                assert failure is not None
                raise failure
        except TimeoutError:
            raise FetchTimeout(f"no answer within {self._total_timeout_s:g} s") from None

    async def _request(self, target: Target, ip: str, port: int, accept: str,
                       read_body: Callable[[httpx.Response], bool] | None,
                       extra: Mapping[str, str] | None = None) -> Reply:
        url = httpx.URL(scheme=target.scheme, host=ip, port=port, path=target.path,
                        query=target.query.encode() or None)
        host_header = target.host if target.port is None else f"{target.host}:{target.port}"
        # TLS verifies the name given as SNI. "connection: close", because pooled connections
        # are keyed by address: a later request for another name on the same address (a CDN)
        # must not reuse a connection whose certificate was checked for this one. No
        # compression, so the cap counts the bytes kept (a small gzip can inflate a thousandfold).
        async with self._client.stream(
            "GET", url, timeout=self._request_timeout,
            extensions={"sni_hostname": target.host},
            headers={**(extra or {}), "host": host_header, "accept": accept,
                     "accept-encoding": "identity", "connection": "close"},
        ) as response:
            body = bytearray()
            truncated = False
            wanted = response.status_code not in REDIRECT_STATUSES and (
                read_body is None or read_body(response))
            if wanted:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_body_bytes:
                        truncated = True
                        del body[self.max_body_bytes:]
                        break
            return Reply(url=target.url, status=response.status_code,
                         headers=response.headers, body=bytes(body), truncated=truncated,
                         charset=response.charset_encoding)
