"""Read domains from a file: one per line, or CSV with a ``domain`` column and optional ``name``
and ``aliases`` (separated by ``|``), one record per line. Every line is either accepted or
rejected with a reason; the file is read a line at a time (``streams.text_input``).

Limits: a line is at most ``MAX_LINE_BYTES``; a domain at most 253 characters once normalised
(DNS); a name or alias at most ``MAX_NAME_CHARS`` characters and at most ``MAX_ALIASES`` aliases,
as the ``DomainRequested`` contract, which checks each entry, says."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import BinaryIO

from pydantic import ValidationError

from contracts.domain_name import InvalidDomain, normalize_domain
from contracts.domains import DomainRequested
from streams.inputs.text_input import read_lines


@dataclass(frozen=True)
class DomainEntry:
    line: int
    domain: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejection:
    line: int
    raw: str  # the domain as written; "" when the line could not be read
    reason: str

    def __str__(self) -> str:
        if not self.raw:
            return f"line {self.line}: {self.reason}"
        return f"line {self.line}: {self.raw[:80]!r}: {self.reason}"


@dataclass
class DomainFile:
    entries: list[DomainEntry] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def read_domains(handle: BinaryIO, name: str) -> DomainFile:
    """Read a domain file; raises ``InputError`` (naming ``name``) only when it is not text."""
    result = DomainFile()
    seen: dict[str, int] = {}
    columns: list[str] | None = None  # the CSV header
    started = False  # the first non-blank line says whether the file is CSV
    for line in read_lines(handle, name):
        if line.error:
            result.rejections.append(Rejection(line.number, "", line.error))
            continue
        if not started and line.text.strip():
            started = True
            header = [column.strip().lower() for column in line.text.split(",")]
            if "domain" in header:
                columns = header
                continue
        try:
            raw, brand, aliases = _fields(line.text, columns)
        except csv.Error as exc:
            result.rejections.append(Rejection(line.number, "", f"not a CSV record ({exc})"))
            continue
        if not raw or raw.startswith("#"):
            continue
        try:
            domain = normalize_domain(raw)
        except InvalidDomain as exc:
            result.rejections.append(Rejection(line.number, raw, exc.reason))
            continue
        if domain in seen:
            result.rejections.append(
                Rejection(line.number, raw, f"duplicate of line {seen[domain]}"))
            continue
        if reason := _contract_refusal(domain, brand, aliases):
            result.rejections.append(Rejection(line.number, raw, reason))
            continue
        seen[domain] = line.number
        result.entries.append(
            DomainEntry(line=line.number, domain=domain, name=brand or domain, aliases=aliases))
    return result


def parse_domains(text: str) -> DomainFile:
    """``read_domains`` on text already in memory."""
    return read_domains(io.BytesIO(text.encode()), "text")


def _fields(text: str, columns: list[str] | None) -> tuple[str, str, tuple[str, ...]]:
    """The domain as written, the brand name and its aliases of one line."""
    if columns is None:
        return text.strip(), "", ()
    values = next(csv.reader([text], strict=True), [])
    row = dict(zip(columns, values, strict=False))
    aliases = tuple(a.strip() for a in row.get("aliases", "").split("|") if a.strip())
    return row.get("domain", "").strip(), row.get("name", "").strip(), aliases


def _contract_refusal(domain: str, name: str, aliases: tuple[str, ...]) -> str | None:
    """Why ``DomainRequested`` would refuse this entry (its name and alias limits), if it would:
    found here, the line is rejected with its number instead of failing the whole publish."""
    try:
        DomainRequested(domain=domain, name=name, aliases=aliases)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg'].removeprefix('Value error, ')}"
    return None
