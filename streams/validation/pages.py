"""What a fetched home page says: its title, the schema.org ``Organization`` it declares in
JSON-LD, and whether it is a parked domain (a parking service's page or a domain-for-sale page)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from selectolax.lexbor import LexborHTMLParser

# Hosts of domain parking and aftermarket services: a page that loads from them, or a redirect to
# them, is a parked domain.
PARKING_HOSTS = (
    "sedoparking.com", "sedo.com", "parkingcrew.net", "bodis.com", "above.com", "parklogic.com",
    "dan.com", "afternic.com", "hugedomains.com", "undeveloped.com", "domainmarket.com",
    "parked.com", "parkingpage.namecheap.com", "domainnamesales.com", "atom.com", "squadhelp.com",
    "buydomains.com", "uniregistry.com", "voodoo.com", "smartname.com", "dsparking.com",
)
_URL_HOST = re.compile(r"(?:https?:)?//([\w.-]+)", re.IGNORECASE)
# What parking and for-sale pages say; a title or body text match is enough.
_PARKED_TEXT = re.compile(
    r"\b(?:this\s+domain\s+(?:name\s+)?(?:is|may\s+be)\s+for\s+sale"
    r"|(?:the\s+)?domain\s+(?:name\s+)?[\w.-]*\s*is\s+for\s+sale"
    r"|[\w-]+(?:\.[\w-]+)+\s+(?:is|may\s+be)\s+for\s+sale"
    r"|buy\s+this\s+domain|domain\s+is\s+parked|parked\s+(?:free|domain|page)"
    r"|this\s+(?:web\s*)?page\s+is\s+parked|domain\s+(?:name\s+)?has\s+expired"
    r"|make\s+(?:an\s+)?offer\s+on\s+this\s+domain|inquire\s+about\s+this\s+domain)\b",
    re.IGNORECASE)
_ORGANIZATION_TYPES = frozenset({
    "Organization", "Corporation", "LocalBusiness", "OnlineBusiness", "OnlineStore", "Store",
    "NewsMediaOrganization", "Airline", "NGO", "EducationalOrganization", "SportsOrganization",
    "GovernmentOrganization", "MedicalOrganization", "PerformingGroup", "Brand",
})
_ORGANIZATION_FIELDS = ("name", "legalName", "alternateName", "url", "logo", "foundingDate",
                        "founder", "founders", "address", "sameAs", "parentOrganization")
_MAX_TEXT = 20_000  # body text scanned for parking phrases
_MAX_TITLE = 300


@dataclass(frozen=True, slots=True)
class PageSignals:
    title: str | None
    organization: dict[str, Any] | None
    parked_marker: str | None


def parking_host(url: str) -> str | None:
    """The parking service whose host (or a subdomain of it) ``url`` points at, if any."""
    match = _URL_HOST.match(url.strip())
    host = (match.group(1) if match else url.strip().split("/")[0]).lower().rstrip(".")
    for parking in PARKING_HOSTS:
        if host == parking or host.endswith("." + parking):
            return host
    return None


def _parking_host_in(text: str) -> str | None:
    for match in _URL_HOST.finditer(text):
        if host := parking_host(match.group(0)):
            return host
    return None


def read_page(html: str) -> PageSignals:
    page = LexborHTMLParser(html)
    title_node = page.css_first("title")
    title = " ".join(title_node.text().split())[:_MAX_TITLE] if title_node else None
    organization = None
    for script in page.css('script[type="application/ld+json"]'):
        organization = organization or _organization(script.text())
    return PageSignals(title=title or None, organization=organization,
                       parked_marker=_parked_marker(page, title))


def _parked_marker(page: LexborHTMLParser, title: str | None) -> str | None:
    if title and (match := _PARKED_TEXT.search(title)):
        return f"title: {match.group(0)}"
    for selector, attribute in (("script", "src"), ("iframe", "src"), ("a", "href"),
                                ("link", "href"), ("form", "action")):
        for node in page.css(selector):
            value = node.attributes.get(attribute)
            if value and (host := parking_host(value)):
                return f"{selector} {attribute}: {host}"
    for script in page.css("script"):
        if not script.attributes.get("src") and (
                host := _parking_host_in(script.text()[:_MAX_TEXT])):
            return f"script: {host}"
    body = page.body.text(separator=" ") if page.body else ""
    if match := _PARKED_TEXT.search(body[:_MAX_TEXT]):
        return f"text: {' '.join(match.group(0).split())}"
    return None


def _organization(data: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError:
        return None
    for node in _nodes(parsed):
        types = node.get("@type")
        names = {types} if isinstance(types, str) else set(types) if isinstance(types, list) \
            else set()
        if names & _ORGANIZATION_TYPES:
            return {key: node[key] for key in _ORGANIZATION_FIELDS if key in node} | {
                "@type": types}
    return None


def _nodes(value: Any) -> list[dict[str, Any]]:
    """Every object of a JSON-LD document: top level, lists and ``@graph``."""
    found: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            found.append(item)
            if "@graph" in item:
                stack.append(item["@graph"])
    return found
