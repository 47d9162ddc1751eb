"""Migrations: in order, recorded, idempotent, safe to run from two processes at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from streams.config import Settings
from streams.runtime.migrate import MigrationError, load_migrations, migrate

pytestmark = pytest.mark.stack

SCHEMA = """SELECT table_name, column_name, data_type FROM information_schema.columns
            WHERE table_schema = 'public' ORDER BY 1, 2"""


async def test_applied_twice_changes_nothing(migrated: Settings) -> None:
    dsn = migrated.postgres.dsn.get_secret_value()
    connection = await asyncpg.connect(dsn)
    try:
        before = await connection.fetch(SCHEMA)
        recorded = await connection.fetch("SELECT * FROM schema_migrations ORDER BY version")
        again = await asyncio.gather(migrate(dsn), migrate(dsn))
        assert again == [[], []]
        assert await connection.fetch(SCHEMA) == before
        migrations = await connection.fetch("SELECT * FROM schema_migrations ORDER BY version")
        assert migrations == recorded
        assert [r["version"] for r in recorded] == [m.version for m in load_migrations()]
    finally:
        await connection.close()


async def test_concurrent_first_run_applies_each_once(migrated: Settings) -> None:
    dsn = migrated.postgres.dsn.get_secret_value()
    admin = await asyncpg.connect(dsn)
    await admin.execute("DROP DATABASE IF EXISTS migrate_twice")
    await admin.execute("CREATE DATABASE migrate_twice")
    fresh = dsn.rsplit("/", 1)[0] + "/migrate_twice"
    try:
        first, second = await asyncio.gather(migrate(fresh), migrate(fresh))
        assert sorted(first + second) == sorted(m.name for m in load_migrations())
    finally:
        await admin.execute("DROP DATABASE migrate_twice WITH (FORCE)")
        await admin.close()


def test_destructive_migration_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_bad.sql").write_text("DROP TABLE runs;")
    with pytest.raises(MigrationError, match="never drop"):
        load_migrations(tmp_path)
