"""One spelling per web page, so that the same page cited under two URLs counts once.

Providers decorate the URLs they cite (OpenAI appends ``?utm_source=openai`` to a page its
search listed without it; sites link with and without ``www.`` and trailing slashes). These
functions never raise: the URLs come from model output and search engines, and a URL we
cannot read is still a string we can compare.
"""

from __future__ import annotations

from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

__all__ = ["canonical_url", "domain_of"]

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that say who sent the reader, not which page it is.
_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid", "ref", "ref_src"})


def canonical_url(url: str) -> str:
    """``url`` with the differences that do not change the page removed: scheme and host in
    lower case, no ``www.``, no default port, no fragment, no tracking parameters (``utm_*``,
    ``fbclid``, ``gclid``, ``mc_cid``, ``mc_eid``, ``ref``, ``ref_src``), the other parameters
    sorted, no trailing slash except on the root path.

    Anything that is not an http(s) URL with a host comes back only stripped of surrounding
    whitespace."""
    raw = url.strip()
    parts = _split(raw)
    if parts is None or parts.scheme.lower() not in _DEFAULT_PORTS:
        return raw
    host = _host(parts)
    if not host:
        return raw
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range: not a URL we can read
        return raw
    scheme = parts.scheme.lower()
    # Userinfo is dropped on purpose: it never names a different page, and credentials must not
    # become part of a key stored and shown elsewhere.
    netloc = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, _query(parts.query), ""))


def domain_of(url: str) -> str:
    """The host of ``url`` in lower case without ``www.`` (other subdomains kept:
    ``en.wikipedia.org``); ``""`` when it has none."""
    parts = _split(url.strip())
    return _host(parts) if parts is not None else ""


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None


def _host(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")  # "example.com." is the same host
    return host.removeprefix("www.")


def _query(query: str) -> str:
    """The parameters that name the page, sorted; each kept as written (re-encoding could
    change what a server sees)."""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote_plus(pair.split("=", 1)[0]).lower()
        if name in _TRACKING_PARAMS or name.startswith("utm_"):
            continue
        kept.append(pair)
    return "&".join(sorted(kept))
