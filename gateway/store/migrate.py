"""Applies sql/NNNN_*.sql in order, once each, under an advisory lock, recording checksums."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from gateway import errors
from gateway.store import pool

log = logging.getLogger(__name__)

_NAME = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")
# Any constant shared by every migrator; pg_advisory_lock serializes concurrent `migrate` runs.
_LOCK_KEY = 0x77786761  # "wxga"


class MigrationError(errors.WxgateError):
    """The database's migrations do not match the files."""


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def default_sql_dir() -> Path:
    """sql/ beside the package in a checkout, or /app/sql in the container image."""
    checkout = Path(__file__).resolve().parents[2] / "sql"
    for candidate in (checkout, Path.cwd() / "sql", Path("/app/sql")):
        if candidate.is_dir():
            return candidate
    raise MigrationError("no sql/ directory found; set WXGATE_SQL_DIR")


def load(sql_dir: Path) -> list[Migration]:
    """The migration files in name order; stray names are an error, not silently skipped."""
    found = []
    for path in sorted(sql_dir.glob("*.sql")):
        if not _NAME.match(path.name):
            raise MigrationError(f"migration file {path.name} is not named NNNN_verb_object.sql")
        found.append(Migration(path.name, path.read_text(encoding="utf-8")))
    return found


async def _landed(conn: pool.Connection) -> dict[str, str]:
    rows = await conn.fetch("SELECT name, checksum FROM schema_migrations")
    return {r["name"]: r["checksum"] for r in rows}


async def apply(conn: pool.Connection, migrations: list[Migration]) -> list[str]:
    """Apply the pending migrations; returns the names applied. Edited landed files are errors."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        landed = await _landed(conn)
        applied = []
        for migration in migrations:
            if migration.name in landed:
                if landed[migration.name] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.name} was edited after it was applied; "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                    migration.name,
                    migration.checksum,
                )
            log.info("applied migration %s", migration.name, extra={"action": "migrate"})
            applied.append(migration.name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def pending(conn: pool.Connection, migrations: list[Migration]) -> list[str]:
    """Names not yet applied (or edited): empty means the schema is current."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return [m.name for m in migrations]
    landed = await _landed(conn)
    return [m.name for m in migrations if landed.get(m.name) != m.checksum]


async def migrate_url(dsn: str, sql_dir: Path | None = None) -> list[str]:
    """Connect, apply, disconnect."""
    migrations = load(sql_dir or default_sql_dir())
    conn = await asyncpg.connect(dsn)
    try:
        return await apply(conn, migrations)
    finally:
        await conn.close()
