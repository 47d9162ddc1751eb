"""Domain normalisation: the one rule that turns input into a Kafka key and a row id. It lives
with the contracts because the contracts enforce it on every record, whoever produced it."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

import idna
from pydantic import AfterValidator

from contracts.errors import DomainRunnerError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidDomain(DomainRunnerError, ValueError):
    """The input cannot be a registrable domain name; ``reason`` says why."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


def normalize_domain(raw: str) -> str:
    """``http://WWW.Example.COM/path`` → ``example.com``; Unicode → IDNA A-labels (``xn--…``)."""
    text = raw.strip()
    if not text:
        raise InvalidDomain(raw, "empty")
    if any(ch.isspace() for ch in text):
        raise InvalidDomain(raw, "contains whitespace")
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname
    except ValueError as exc:  # e.g. "[/x]": brackets make it an invalid IPv6 literal
        raise InvalidDomain(raw, f"not a host name ({exc})") from None
    if not host:
        raise InvalidDomain(raw, "no host name")
    host = host.rstrip(".").lower()
    if host.startswith("www."):
        host = host[4:]
    for label in host.split("."):
        if len(label) > 63:
            raise InvalidDomain(raw, f"label of {len(label)} characters (the limit is 63)")
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidDomain(raw, f"not a valid internationalised name ({exc})") from None
    labels = ascii_host.split(".")
    if len(labels) < 2:
        raise InvalidDomain(raw, "needs at least two labels, like example.com")
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidDomain(raw, f"label {label!r} has characters a host name cannot have")
    if len(ascii_host) > 253:
        raise InvalidDomain(raw, f"{len(ascii_host)} characters (the limit is 253)")
    if labels[-1].isdigit():
        raise InvalidDomain(raw, "is an IP address or has a numeric top-level label")
    return ascii_host


def _validated(raw: str) -> str:
    try:
        return normalize_domain(raw)
    except InvalidDomain as exc:
        raise ValueError(f"not a domain: {exc.reason}") from None


# A message field holding a domain: normalised on read, or refused with the reason.
Domain = Annotated[str, AfterValidator(_validated)]
