"""Home-page signals: title, JSON-LD organisation, parking markers."""

from __future__ import annotations

import json

import pytest

from streams.validation.pages import parking_host, read_page


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_organization_in_a_list_with_a_subtype_and_several_types() -> None:
    page = read_page("<html><head><title>Shop</title>" + ld([
        {"@type": "WebSite", "name": "Shop"},
        {"@type": ["OnlineStore", "Thing"], "name": "Shop Ltd", "legalName": "Shop Limited",
         "address": {"addressCountry": "GB"}, "secret": "not kept"},
    ]) + "</head></html>")
    assert page.title == "Shop"
    assert page.organization == {"@type": ["OnlineStore", "Thing"], "name": "Shop Ltd",
                                 "legalName": "Shop Limited",
                                 "address": {"addressCountry": "GB"}}
    assert page.parked_marker is None


def test_broken_json_ld_is_skipped_for_a_later_block() -> None:
    page = read_page('<script type="application/ld+json">{oops</script>'
                     + ld({"@type": "Corporation", "name": "Acme"}))
    assert page.organization == {"@type": "Corporation", "name": "Acme"}
    assert page.title is None


@pytest.mark.parametrize(("html", "marker"), [
    ("<title>example.com is for sale</title>", "title: example.com is for sale"),
    ('<iframe src="https://ww1.parklogic.com/x"></iframe>', "iframe src: ww1.parklogic.com"),
    ('<a href="https://www.hugedomains.com/domain_profile.cfm?d=x">buy</a>',
     "a href: www.hugedomains.com"),
    ("<p>The domain name x.example may be for sale.</p>", "text: x.example may be for sale"),
    ("<p>This domain is parked free, courtesy of a registrar.</p>", "text: domain is parked"),
    ("<script>window.location='https://sedoparking.com/x'</script>", "script: sedoparking.com"),
])
def test_parking_markers(html: str, marker: str) -> None:
    assert read_page(f"<html><body>{html}</body></html>").parked_marker == marker


def test_ordinary_pages_are_not_parked() -> None:
    page = read_page("<title>Acme — rockets for sale</title><p>Buy our rockets. We are above "
                     "the rest.</p><a href='https://example.org/dan.com.html'>x</a>")
    assert page.parked_marker is None
    assert parking_host("https://sedo.com/search?q=x") == "sedo.com"
    assert parking_host("https://notsedo.com/") is None
