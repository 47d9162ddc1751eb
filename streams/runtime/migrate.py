"""Numbered SQL migrations applied in order, each in its own transaction, recorded in a table.

Two processes may migrate at once: an advisory lock serialises them. A recorded migration whose
file changed is an error, and no migration may drop or truncate anything."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from streams.config import PROJECT_ROOT
from streams.errors import DomainRunnerError

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
_LOCK_KEY = 0x646F6D61696E  # "domain": any constant shared by every migrating process
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_DESTRUCTIVE = re.compile(r"\b(DROP\s+(TABLE|COLUMN|SCHEMA|DATABASE)|TRUNCATE)\b", re.IGNORECASE)


class MigrationError(DomainRunnerError, RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: expected NNNN_lower_case_name.sql")
        sql = path.read_text()
        if _DESTRUCTIVE.search(sql):
            raise MigrationError(f"{path.name}: migrations never drop or truncate data")
        migrations.append(Migration(int(match.group(1)), path.stem, sql))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migrations share a number")
    return migrations


async def migrate(dsn: str, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply what is missing; return the names applied now."""
    migrations = load_migrations(folder)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        await connection.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = {
            row["version"]: row["checksum"]
            for row in await connection.fetch("SELECT version, checksum FROM schema_migrations")
        }
        done: list[str] = []
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(f"{migration.name} changed after it was applied")
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version, migration.name, migration.checksum,
                )
            done.append(migration.name)
        return done
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
        await connection.close()
