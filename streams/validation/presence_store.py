"""The ``web_presence`` table: one check per domain and day, and the group's scheduler that
checks the domains it sees without holding a partition for longer than one bounded round."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

import asyncpg

from streams.validation.web_presence import WebPresence, WebPresenceChecker

logger = logging.getLogger(__name__)

_COLUMNS = ("domain, checked_on, status, addresses, http_status, final_url, redirect_target, "
            "redirects, title, organization, parked_marker, error, elapsed_ms, checker_version")


def today() -> date:
    return datetime.now(UTC).date()


async def checked_on(pool: asyncpg.Pool, domains: Iterable[str], day: date) -> set[str]:
    rows = await pool.fetch(
        "SELECT domain FROM web_presence WHERE checked_on = $1 AND domain = ANY($2::text[])",
        day, sorted(set(domains)))
    return {row["domain"] for row in rows}


async def save_presence(pool: asyncpg.Pool, results: Sequence[WebPresence], *,
                        replace: bool = False) -> None:
    """Store each result as its domain's check of the day; the first one stays unless
    ``replace`` (an explicit re-check)."""
    conflict = (
        "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS.split(", ")[2:])
        + ", checked_at = now()"
    ) if replace else "DO NOTHING"
    await pool.executemany(
        f"""INSERT INTO web_presence ({_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14)
            ON CONFLICT (domain, checked_on) {conflict}""",
        [
            (r.domain, r.checked_on, r.status, list(r.addresses), r.http_status, r.final_url,
             r.redirect_target, r.redirects, r.title,
             None if r.organization is None else json.dumps(r.organization, default=str),
             r.parked_marker, r.error, r.elapsed_ms, r.checker_version)
            for r in results
        ],
    )


async def load_presence(pool: asyncpg.Pool, domains: Iterable[str],
                        day: date) -> dict[str, WebPresence]:
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM web_presence WHERE checked_on = $1 AND domain = ANY($2::text[])",
        day, sorted(set(domains)))
    results: dict[str, WebPresence] = {}
    for row in rows:
        values = dict(row)
        values["addresses"] = tuple(values["addresses"])
        values["organization"] = (None if values["organization"] is None
                                  else json.loads(values["organization"]))
        results[row["domain"]] = WebPresence(**values)
    return results


async def check_domains(pool: asyncpg.Pool, checker: WebPresenceChecker, domains: Sequence[str],
                        *, force: bool = False) -> list[WebPresence]:
    """Today's result for each domain: the stored one, or a new check (always with ``force``)."""
    day = today()
    stored = {} if force else await load_presence(pool, domains, day)
    fresh = await asyncio.gather(*(checker.check(d) for d in domains if d not in stored))
    await save_presence(pool, fresh, replace=force)
    by_domain = stored | {r.domain: r for r in fresh}
    return [by_domain[d] for d in domains]


class PresenceScheduler:
    """Checks each domain a consumer sees once a day: at most ``per_batch`` new checks per call,
    concurrently, each bounded by the checker's total timeout; the rest wait for the next call."""

    def __init__(self, pool: asyncpg.Pool, checker: WebPresenceChecker, *, per_batch: int) -> None:
        self._pool = pool
        self._checker = checker
        self._per_batch = per_batch
        self._day = today()
        self._done: set[str] = set()
        self._due: dict[str, None] = {}  # insertion-ordered: first seen, first checked

    @property
    def due(self) -> int:
        return len(self._due)

    async def run(self, domains: Iterable[str]) -> list[WebPresence]:
        """Check what is due. Failures are logged, never raised: the check is a side
        observation and must not stop validation; an unsaved domain stays due."""
        day = today()
        if day != self._day:
            self._day, self._done = day, set()
        for domain in domains:
            if domain not in self._done:
                self._due.setdefault(domain)
        if not self._due:
            return []
        try:
            for domain in await checked_on(self._pool, self._due, day):
                self._finish(domain)
            batch = list(self._due)[: self._per_batch]
            results = list(await asyncio.gather(*(self._checker.check(d) for d in batch)))
            await save_presence(self._pool, results)
        except (OSError, asyncpg.PostgresError) as exc:
            logger.warning("web-presence checks not saved (will retry): %s", exc)
            return []
        for domain in batch:
            self._finish(domain)
        return results

    def _finish(self, domain: str) -> None:
        self._due.pop(domain, None)
        self._done.add(domain)
