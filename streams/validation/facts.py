"""Reference facts: what is true about each brand, read from CSV or JSONL into the ``facts`` table.

CSV columns: ``domain``, ``name`` and optionally ``aliases``, ``industry``, ``founded``,
``headquarters_country``, ``founders``, ``products`` (lists ``|``-separated). JSONL: one object a
line with the same keys (lists as JSON arrays or ``|``-separated strings). An empty value is
unknown, so nothing is checked against it. The simulator's brand file is the default.

The file is read a line at a time (``streams.text_input``: at most ``MAX_LINE_BYTES`` a line,
UTF-8) and loaded only if every row is valid: the first bad row refuses the file with its line,
since a partial load would leave some brands checked against stale facts. Limits: a name or
alias as the ``DomainRequested`` contract allows, any other fact ``MAX_FACT_CHARS`` characters,
a list ``MAX_FACT_ITEMS`` items."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from contracts.domain_name import InvalidDomain, normalize_domain
from contracts.domains import MAX_ALIASES, MAX_NAME_CHARS
from streams.config import PROJECT_ROOT, Settings
from streams.inputs.text_input import InputError, Line, open_input, read_lines
from streams.runtime.postgres import create_pool

DEFAULT_FACTS_FILE = PROJECT_ROOT / "streams" / "simulator" / "brands.csv"
_JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
# A fact is a short phrase compared word by word with answers (an industry, a country, a
# founder's name): anything longer is a mistake in the file, not a fact.
MAX_FACT_CHARS = 200
MAX_FACT_ITEMS = 50

_Name = Annotated[str, StringConstraints(max_length=MAX_NAME_CHARS)]
_Fact = Annotated[str, StringConstraints(max_length=MAX_FACT_CHARS)]


class FactsFileError(InputError):
    """A facts file that cannot be loaded; the message names the file, line and reason."""


class ReferenceFacts(BaseModel):
    """One brand's reference facts; None is unknown."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    domain: str
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    aliases: tuple[_Name, ...] = Field(default=(), max_length=MAX_ALIASES)
    industry: _Fact | None = None
    founded: int | None = Field(default=None, ge=1000, le=2100)
    headquarters_country: _Fact | None = None
    founders: tuple[_Fact, ...] | None = Field(default=None, max_length=MAX_FACT_ITEMS)
    products: tuple[_Fact, ...] | None = Field(default=None, max_length=MAX_FACT_ITEMS)

    @field_validator("domain", mode="before")
    @classmethod
    def _domain(cls, value: Any) -> str:
        try:
            return normalize_domain(str(value))
        except InvalidDomain as exc:
            raise ValueError(exc.reason) from None

    @field_validator("industry", "headquarters_country", "founded", mode="before")
    @classmethod
    def _blank_is_unknown(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("aliases", mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        return _list(value) or ()

    @field_validator("founders", "products", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _list(value)


def _list(value: Any) -> Any:
    """``"a|b"`` → ``["a", "b"]``; blank → None; a list stays as it is."""
    if value is None:
        return None
    if isinstance(value, str):
        items = [item.strip() for item in value.split("|") if item.strip()]
        return items or None
    return value


def read_facts(path: Path) -> list[ReferenceFacts]:
    """Every row of a CSV or JSONL facts file; the first bad row (or an unreadable or empty
    file) raises ``FactsFileError``."""
    try:
        return _read_facts(path)
    except FactsFileError:
        raise
    except InputError as exc:  # the file could not be opened, or is not text
        raise FactsFileError(str(exc)) from None


def _read_facts(path: Path) -> list[ReferenceFacts]:
    read = _jsonl_rows if path.suffix.lower() in _JSONL_SUFFIXES else _csv_rows
    facts: list[ReferenceFacts] = []
    seen: dict[str, int] = {}
    for line, row in read(path):
        try:
            record = ReferenceFacts.model_validate(row)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "row"
            raise FactsFileError(f"{path}:{line}: {where}: {first['msg']}") from None
        if record.domain in seen:
            raise FactsFileError(
                f"{path}:{line}: {record.domain} already given on line {seen[record.domain]}")
        seen[record.domain] = line
        facts.append(record)
    if not facts:
        raise FactsFileError(f"{path}: no facts in the file")
    return facts


def _text_lines(path: Path) -> Iterable[Line]:
    """The file's non-blank lines; the first unreadable one refuses the file."""
    with open_input(str(path)) as handle:
        for line in read_lines(handle, str(path)):
            if line.error:
                raise FactsFileError(f"{path}:{line.number}: {line.error}")
            if line.text.strip():
                yield line


def _csv_rows(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """One record per line (a quoted field cannot span lines)."""
    columns: list[str] | None = None
    for line in _text_lines(path):
        try:
            values = next(csv.reader([line.text], strict=True))
        except csv.Error as exc:
            raise FactsFileError(f"{path}:{line.number}: not a CSV record ({exc})") from None
        if columns is None:
            columns = values
            if not {"domain", "name"} <= set(columns):
                raise FactsFileError(
                    f"{path}:{line.number}: a CSV facts file needs 'domain' and 'name' columns")
            continue
        yield line.number, dict(zip(columns, values, strict=False))


def _jsonl_rows(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    for line in _text_lines(path):
        try:
            row = json.loads(line.text)
        except json.JSONDecodeError as exc:
            raise FactsFileError(f"{path}:{line.number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise FactsFileError(f"{path}:{line.number}: expected a JSON object")
        yield line.number, row


async def load_facts(pool: asyncpg.Pool, facts: Sequence[ReferenceFacts], *, source: str) -> int:
    """Insert or replace each domain's facts in one transaction; return how many rows."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.executemany(
            """INSERT INTO facts (domain, name, aliases, industry, founded, headquarters_country,
                                  founders, products, source, loaded_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
               ON CONFLICT (domain) DO UPDATE SET
                   name = EXCLUDED.name, aliases = EXCLUDED.aliases,
                   industry = EXCLUDED.industry, founded = EXCLUDED.founded,
                   headquarters_country = EXCLUDED.headquarters_country,
                   founders = EXCLUDED.founders, products = EXCLUDED.products,
                   source = EXCLUDED.source, loaded_at = now()""",
            [
                (f.domain, f.name, list(f.aliases), f.industry, f.founded,
                 f.headquarters_country, None if f.founders is None else list(f.founders),
                 None if f.products is None else list(f.products), source)
                for f in facts
            ],
        )
    return len(facts)


async def load_facts_file(settings: Settings, path: Path = DEFAULT_FACTS_FILE) -> int:
    """Read ``path`` and load it (the command ``domain-runner facts load`` and the demo)."""
    facts = read_facts(path)
    pool = await create_pool(settings, max_size=2)
    try:
        return await load_facts(pool, facts, source=_source_name(path))
    finally:
        await pool.close()


def _source_name(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(PROJECT_ROOT)) if resolved.is_relative_to(PROJECT_ROOT) \
        else str(resolved)


async def fetch_facts(
    connection: asyncpg.Pool | asyncpg.Connection, domains: Iterable[str]
) -> dict[str, ReferenceFacts]:
    """The reference facts of those ``domains`` that have them."""
    rows = await connection.fetch(
        """SELECT domain, name, aliases, industry, founded, headquarters_country, founders,
                  products FROM facts WHERE domain = ANY($1::text[])""",
        sorted(set(domains)),
    )
    return {row["domain"]: ReferenceFacts.model_validate(dict(row)) for row in rows}
