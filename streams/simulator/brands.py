"""The simulator's ground truth: real brands with the facts a model may state about them."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

BRANDS_CSV = Path(__file__).with_name("brands.csv")


@dataclass(frozen=True, slots=True)
class Brand:
    """One brand as the simulator's "truth" knows it."""

    domain: str
    name: str
    aliases: tuple[str, ...]
    industry: str
    founded: int
    headquarters_country: str


def load_brands(path: str | Path | None = None) -> list[Brand]:
    """Read ``brands.csv`` (or ``path``); a bad row raises ``ValueError`` naming its line."""
    source = Path(path) if path is not None else BRANDS_CSV
    brands: list[Brand] = []
    seen: set[str] = set()
    with source.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                brand = Brand(
                    domain=row["domain"].strip().lower(),
                    name=row["name"].strip(),
                    aliases=tuple(a.strip() for a in (row["aliases"] or "").split("|")
                                  if a.strip()),
                    industry=row["industry"].strip(),
                    founded=int(row["founded"]),
                    headquarters_country=row["headquarters_country"].strip(),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{source}:{line}: bad brand row: {exc}") from exc
            if not (brand.domain and brand.name and brand.industry):
                raise ValueError(f"{source}:{line}: domain, name and industry are required")
            if brand.domain in seen:
                raise ValueError(f"{source}:{line}: duplicate domain {brand.domain}")
            seen.add(brand.domain)
            brands.append(brand)
    return brands


@lru_cache(maxsize=1)
def default_brands() -> tuple[Brand, ...]:
    """The shipped brand list, read once per process."""
    return tuple(load_brands())
