"""Reference facts: what is true about each brand, read from CSV or JSONL into the ``facts`` table.

CSV columns: ``domain``, ``name`` and optionally ``aliases``, ``industry``, ``founded``,
``headquarters_country``, ``founders``, ``products`` (lists ``|``-separated). JSONL: one object a
line with the same keys (lists as JSON arrays or ``|``-separated strings). An empty value is
unknown, so nothing is checked against it. The simulator's brand file is the default."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts.domain_name import InvalidDomain, normalize_domain
from streams.config import PROJECT_ROOT, Settings
from streams.postgres import create_pool

DEFAULT_FACTS_FILE = PROJECT_ROOT / "streams" / "simulator" / "brands.csv"
_JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})


class FactsFileError(ValueError):
    """A facts file that cannot be loaded; the message names the line and the reason."""


class ReferenceFacts(BaseModel):
    """One brand's reference facts; None is unknown."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    domain: str
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    industry: str | None = None
    founded: int | None = Field(default=None, ge=1000, le=2100)
    headquarters_country: str | None = None
    founders: tuple[str, ...] | None = None
    products: tuple[str, ...] | None = None

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
    """Every row of a CSV or JSONL facts file; the first bad row raises ``FactsFileError``."""
    try:
        rows = list(_jsonl_rows(path) if path.suffix.lower() in _JSONL_SUFFIXES
                    else _csv_rows(path))
    except OSError as exc:
        raise FactsFileError(f"{path}: {exc.strerror or exc}") from None
    facts: list[ReferenceFacts] = []
    seen: dict[str, int] = {}
    for line, row in rows:
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
    return facts


def _csv_rows(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"domain", "name"} <= set(reader.fieldnames):
            raise FactsFileError(f"{path}:1: a CSV facts file needs 'domain' and 'name' columns")
        for line, row in enumerate(reader, start=2):
            yield line, {key: value for key, value in row.items() if key is not None}


def _jsonl_rows(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise FactsFileError(f"{path}:{line}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise FactsFileError(f"{path}:{line}: expected a JSON object")
            yield line, row


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
