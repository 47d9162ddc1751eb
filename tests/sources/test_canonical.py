"""One spelling per page: what canonical_url removes, what it keeps, and that it never raises."""

from __future__ import annotations

import pytest

from streams.urls import canonical_url, domain_of


@pytest.mark.parametrize(("url", "canonical"), [
    # scheme and host in lower case, no www., no default port, no fragment
    ("HTTPS://WWW.Example.COM/Path", "https://example.com/Path"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://example.com./a", "https://example.com/a"),
    ("https://user:secret@example.com/a", "https://example.com/a"),
    # other subdomains stay
    ("https://en.wikipedia.org/wiki/X", "https://en.wikipedia.org/wiki/X"),
    ("https://www2.example.com/", "https://www2.example.com/"),
    # trailing slash: dropped, except the root path, which an empty path also becomes
    ("https://example.com/docs/", "https://example.com/docs"),
    ("https://example.com/", "https://example.com/"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com?b=2", "https://example.com/?b=2"),
    # tracking parameters go, the rest are sorted and kept as written
    ("https://www.ft.com/content/2805?utm_source=openai", "https://ft.com/content/2805"),
    ("https://a.example/p?utm_medium=x&UTM_Campaign=y&fbclid=1&gclid=2&mc_cid=3&mc_eid=4"
     "&ref=hn&ref_src=twsrc", "https://a.example/p"),
    ("https://a.example/p?b=2&a=1&utm_source=openai", "https://a.example/p?a=1&b=2"),
    ("https://a.example/search?q=caf%C3%A9+au+lait&&page=2",
     "https://a.example/search?page=2&q=caf%C3%A9+au+lait"),
    ("https://a.example/p?flag", "https://a.example/p?flag"),
    ("https://a.example/p?reference=1&utmost=2", "https://a.example/p?reference=1&utmost=2"),
    # IPv6 literals keep their brackets
    ("http://[2001:DB8::1]:8080/x/", "http://[2001:db8::1]:8080/x"),
    # whatever is not an http(s) URL with a host is only stripped
    ("  https://example.com/a  ", "https://example.com/a"),
    ("mailto:someone@example.com", "mailto:someone@example.com"),
    ("ftp://Example.com/file", "ftp://Example.com/file"),
    ("example.com/path", "example.com/path"),
    ("https:///no-host", "https:///no-host"),
    ("http://[::1", "http://[::1"),
    ("https://example.com:99999/", "https://example.com:99999/"),
    ("https://example.com:port/", "https://example.com:port/"),
    ("", ""),
    ("   ", ""),
    ("not a url at all", "not a url at all"),
])
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_the_two_spellings_of_one_cited_page_meet() -> None:
    cited = "https://www.investopedia.com/5-things-december-5-2025-11862701?utm_source=openai"
    listed = "https://www.investopedia.com/5-things-december-5-2025-11862701"
    assert canonical_url(cited) == canonical_url(listed)


def test_canonical_url_is_idempotent() -> None:
    for url in ("HTTPS://WWW.Example.COM:443/a/?z=1&utm_source=x&a=2#f", "http://[::1]:81/"):
        once = canonical_url(url)
        assert canonical_url(once) == once


@pytest.mark.parametrize(("url", "domain"), [
    ("https://WWW.Example.com/a", "example.com"),
    ("https://en.wikipedia.org/wiki/X", "en.wikipedia.org"),
    ("http://user@sub.example.co.uk:8080/", "sub.example.co.uk"),
    ("https://example.com./", "example.com"),
    ("http://[::1]/", "::1"),
    ("example.com/path", ""),
    ("mailto:someone@example.com", ""),
    ("http://[::1", ""),
    ("", ""),
    ("garbage", ""),
])
def test_domain_of(url: str, domain: str) -> None:
    assert domain_of(url) == domain
