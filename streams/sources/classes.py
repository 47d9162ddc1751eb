"""Which kind of site a cited domain is: the project's own brand's, a tracked competitor's, or a
third party's, classed by the shipped, editable ``source_classes.csv`` (or the file
``DR_SOURCES_CLASSES_FILE`` names)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from streams.errors import DomainRunnerError

SHIPPED_CLASSES = Path(__file__).with_name("source_classes.csv")
THIRD_PARTY_CLASSES = ("encyclopedia", "forum_ugc", "video", "news_editorial", "review",
                       "marketplace", "institutional", "other")
OWN, COMPETITOR, OTHER = "own", "competitor", "other"


class BadClassesFile(DomainRunnerError):
    """The source-classes file cannot be read as ``domain,class`` rows of known classes."""


@dataclass(frozen=True)
class SourceClasses:
    """Third-party domains (and ``.suffix`` entries) to their class."""

    domains: Mapping[str, str]
    suffixes: tuple[tuple[str, str], ...]  # longest first

    def third_party(self, domain: str) -> str:
        # The site itself or any parent domain listed: en.wikipedia.org is wikipedia.org's.
        labels = domain.split(".")
        for start in range(len(labels) - 1):
            klass = self.domains.get(".".join(labels[start:]))
            if klass is not None:
                return klass
        for suffix, klass in self.suffixes:
            if domain.endswith(suffix):
                return klass
        return OTHER


def load_classes(path: Path = SHIPPED_CLASSES) -> SourceClasses:
    """Parse a classes file; raises :class:`BadClassesFile` with the line at fault."""
    domains: dict[str, str] = {}
    suffixes: list[tuple[str, str]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadClassesFile(f"{path}: cannot be read ({type(exc).__name__})") from None
    rows = csv.reader(line for line in lines if line.strip() and not line.startswith("#"))
    for number, row in enumerate(rows, 1):
        if number == 1 and row == ["domain", "class"]:
            continue
        if len(row) != 2:
            raise BadClassesFile(f"{path}: row {number} is not 'domain,class': {row!r}")
        domain, klass = row[0].strip().lower(), row[1].strip()
        if klass not in THIRD_PARTY_CLASSES:
            raise BadClassesFile(f"{path}: row {number}: unknown class {klass!r} (known: "
                                 f"{', '.join(THIRD_PARTY_CLASSES)})")
        if domain.startswith("."):
            suffixes.append((domain, klass))
        elif domain:
            domains.setdefault(domain, klass)
    return SourceClasses(domains, tuple(sorted(suffixes, key=lambda s: -len(s[0]))))


@lru_cache(maxsize=4)
def classes_from(path: Path | None) -> SourceClasses:
    return load_classes(path or SHIPPED_CLASSES)


def owner_of(domain: str, brands: Iterable[str]) -> str | None:
    """The tracked brand whose site ``domain`` is (itself or a subdomain of it)."""
    for brand in brands:
        if domain == brand or domain.endswith("." + brand):
            return brand
    return None


def classify(domain: str, *, own: str | None, competitors: Iterable[str],
             classes: SourceClasses) -> tuple[str, str | None]:
    """(class, tracked brand or None) of a cited domain."""
    if own is not None and owner_of(domain, (own,)):
        return OWN, own
    if (brand := owner_of(domain, competitors)) is not None:
        return COMPETITOR, brand
    return classes.third_party(domain), None
