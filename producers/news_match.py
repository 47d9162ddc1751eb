"""Which known brand a headline is about: its domain, name or an alias as whole words
(case-insensitive); the longest match wins, then the earliest."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class KnownBrand:
    domain: str
    name: str
    aliases: tuple[str, ...] = ()


class BrandMatcher:
    def __init__(self, brands: Iterable[KnownBrand]) -> None:
        terms: dict[str, str] = {}
        for brand in brands:
            for term in (brand.domain, brand.name, *brand.aliases):
                # Two brands sharing a term (an alias) is ambiguous: the first keeps it.
                if term.strip() and len(term.strip()) >= 2:
                    terms.setdefault(term.strip().lower(), brand.domain)
        self._terms = terms
        ordered = sorted(terms, key=lambda t: (-len(t), t))
        self._pattern = (re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)",
                                    re.IGNORECASE) if ordered else None)

    def match(self, *texts: str | None) -> str | None:
        if self._pattern is None:
            return None
        for text in texts:
            if not text:
                continue
            found = [m.group(0).lower() for m in self._pattern.finditer(text)]
            if found:
                return self._terms[max(found, key=len)]
        return None


async def known_brands(pool: asyncpg.Pool) -> list[KnownBrand]:
    """The brands this deployment has measured (``domains``, filled when a run is planned)."""
    rows = await pool.fetch("SELECT domain, name, aliases FROM domains ORDER BY domain")
    return [KnownBrand(row["domain"], row["name"], tuple(row["aliases"] or ())) for row in rows]
