"""Read domains from a file: one per line, or CSV with a ``domain`` column and optional ``name``
and ``aliases`` (separated by ``|``). Every line is either accepted or rejected with a reason."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.domain_name import InvalidDomain, normalize_domain


@dataclass(frozen=True)
class DomainEntry:
    line: int
    domain: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejection:
    line: int
    raw: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.raw[:80]!r}: {self.reason}"


@dataclass
class DomainFile:
    entries: list[DomainEntry] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def parse_domains(text: str) -> DomainFile:
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    header = [column.strip().lower() for column in first.split(",")]
    rows: Iterable[tuple[int, str, str, str]]
    if "domain" in header:
        rows = _csv_rows(text)
    else:
        rows = ((number, line.strip(), "", "") for number, line in enumerate(lines, start=1))
    result = DomainFile()
    seen: dict[str, int] = {}
    for number, raw, name, aliases in rows:
        if not raw or raw.startswith("#"):
            continue
        try:
            domain = normalize_domain(raw)
        except InvalidDomain as exc:
            result.rejections.append(Rejection(number, raw, exc.reason))
            continue
        if domain in seen:
            result.rejections.append(Rejection(number, raw, f"duplicate of line {seen[domain]}"))
            continue
        seen[domain] = number
        result.entries.append(
            DomainEntry(
                line=number,
                domain=domain,
                name=name.strip() or domain,
                aliases=tuple(a.strip() for a in aliases.split("|") if a.strip()),
            )
        )
    return result


def _csv_rows(text: str) -> list[tuple[int, str, str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames is not None
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    return [
        (reader.line_num, (row.get("domain") or "").strip(), row.get("name") or "",
         row.get("aliases") or "")
        for row in reader
    ]
