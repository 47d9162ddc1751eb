"""Is there a website behind a domain? DNS, then its home page over HTTPS (else HTTP), following
redirects by hand so the target is recorded, classified ``hosted | parked | redirecting |
unreachable | refused``.

Every request goes through ``streams.safe_fetch``: the name is resolved and checked there, and a
domain (or a redirect target) that resolves to a non-public address is not fetched at all: the
check is ``refused`` and its ``error`` says which address. Every step is bounded (per-request
timeout, a total deadline, a capped body); requests to one host are spaced by a politeness
delay. The resolver is the one seam: tests map names to loopback servers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx

from streams.inputs.safe_fetch import (
    REDIRECT_STATUSES,
    FetchError,
    RefusedAddress,
    Resolver,
    SafeFetcher,
    Target,
    public_resolver,
)
from streams.validation.pages import PageSignals, parking_host, read_page

if TYPE_CHECKING:
    from streams.config import Settings

PresenceStatus = Literal["hosted", "parked", "redirecting", "unreachable", "refused"]

CHECKER_VERSION = "wp-2"
_HTML_TYPES = ("text/html", "application/xhtml")


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
    refused: str | None = None  # why the last URL was not fetched (a non-public address)


class WebPresenceChecker:
    """Checks domains with the shared httpx client (which must not follow redirects itself).
    ``resolver`` defaults to the system's, refusing non-public addresses."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        resolver: Resolver | None = None,
        request_timeout_s: float = 5.0,
        total_timeout_s: float = 15.0,
        politeness_s: float = 1.0,
        max_redirects: int = 5,
        max_body_bytes: int = 512_000,
        schemes: tuple[str, ...] = ("https", "http"),
    ) -> None:
        self._fetcher = SafeFetcher(client, resolver=resolver or public_resolver(),
                                    request_timeout_s=request_timeout_s,
                                    max_body_bytes=max_body_bytes)
        self._total_timeout_s = total_timeout_s
        self._politeness = Politeness(politeness_s)
        self._max_redirects = max_redirects
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
                    if fetch.answered or fetch.refused or not fetch.addresses:
                        break  # answered, refused or no address: another scheme will not help
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
            except RefusedAddress as exc:
                fetch.refused = f"{url}: refused: {exc}"
                return
            except (FetchError, httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
                fetch.errors.append(f"{url}: {type(exc).__name__}: {exc}".rstrip(": "))
                return
            fetch.answered = True
            fetch.status, fetch.page = status, page
            if status not in REDIRECT_STATUSES or not location:
                return
            fetch.chain.append(urljoin(url, location))
            if parking_host(fetch.chain[-1]):
                return
        fetch.too_many_redirects = True

    async def _get(self, url: str, fetch: _Fetch) -> tuple[int, str | None, PageSignals | None]:
        target: Target = await self._fetcher.resolve(url)
        if len(fetch.chain) == 1:  # the domain's own addresses, not a redirect target's
            fetch.addresses.extend(ip for ip, _ in target.addresses if ip not in fetch.addresses)
        await self._politeness.wait(target.host)
        reply = await self._fetcher.request(target, accept="text/html,*/*;q=0.5",
                                            read_body=lambda response: _is_html(response.headers))
        if reply.status in REDIRECT_STATUSES or not _is_html(reply.headers):
            return reply.status, reply.location, None
        # A page cut at the cap is still worth reading: title and JSON-LD come first.
        return reply.status, reply.location, read_page(_decode(reply.body, reply.charset))


def checker_from_settings(client: httpx.AsyncClient, settings: Settings) -> WebPresenceChecker:
    """The checker as configured (``DR_WEB_PRESENCE_*``): the group's and the command's."""
    return WebPresenceChecker(
        client, resolver=public_resolver(settings.web_presence_hosts),
        total_timeout_s=settings.web_presence_timeout_s,
        request_timeout_s=min(5.0, settings.web_presence_timeout_s),
        politeness_s=settings.web_presence_politeness_s,
    )


def _is_html(headers: httpx.Headers) -> bool:
    content_type = headers.get("content-type", "text/html").lower()
    return any(kind in content_type for kind in _HTML_TYPES)


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
    if fetch.refused:
        status = "refused"  # nothing was fetched from where it pointed
    elif parked_marker:
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
        redirect_target=(final_url if left_site or fetch.too_many_redirects
                         or (fetch.refused and len(fetch.chain) > 1) else None),
        redirects=max(len(fetch.chain) - 1, 0),
        title=page.title if page else None,
        organization=page.organization if page else None,
        parked_marker=parked_marker,
        # An earlier scheme's failure is noise once another answered.
        error=fetch.refused or (("; ".join(fetch.errors) or None) if fetch.status is None
                                else None),
        elapsed_ms=round(elapsed_ms, 1),
    )
