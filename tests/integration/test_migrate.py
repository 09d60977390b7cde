from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from gateway.store import migrate
from tests import pg


async def test_template_has_every_migration(pool: asyncpg.Pool) -> None:
    rows = await pool.fetch("SELECT name FROM schema_migrations ORDER BY name")
    names = [r["name"] for r in rows]
    assert names == [m.name for m in migrate.load(pg.SQL_DIR)]
    async with pool.acquire() as conn:
        assert await migrate.pending(conn, migrate.load(pg.SQL_DIR)) == []


async def test_concurrent_migrate_runs_apply_each_file_once(
    postgres: pg.TestPostgres, tmp_path: Path
) -> None:
    url = await postgres.create_database()
    try:
        conn = await asyncpg.connect(url)
        await conn.execute("DROP TABLE schema_migrations")
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await conn.close()
        results = await asyncio.gather(*(migrate.migrate_url(url, pg.SQL_DIR) for _ in range(3)))
        applied = sorted(name for result in results for name in result)
        assert applied == sorted(m.name for m in migrate.load(pg.SQL_DIR))
    finally:
        await postgres.drop_database(url)


async def test_edited_landed_migration_is_an_error_naming_the_file(
    db_url: str, tmp_path: Path
) -> None:
    for m in migrate.load(pg.SQL_DIR):
        (tmp_path / m.name).write_text(m.sql)
    first = tmp_path / migrate.load(pg.SQL_DIR)[0].name
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(migrate.MigrationError, match=first.name):
        await migrate.migrate_url(db_url, tmp_path)


async def test_new_migration_file_is_applied_once(db_url: str, tmp_path: Path) -> None:
    for m in migrate.load(pg.SQL_DIR):
        (tmp_path / m.name).write_text(m.sql)
    (tmp_path / "9999_create_probe.sql").write_text("CREATE TABLE probe (id int);")
    assert await migrate.migrate_url(db_url, tmp_path) == ["9999_create_probe.sql"]
    assert await migrate.migrate_url(db_url, tmp_path) == []


def test_badly_named_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "create_things.sql").write_text("SELECT 1;")
    with pytest.raises(migrate.MigrationError, match=r"create_things\.sql"):
        migrate.load(tmp_path)
