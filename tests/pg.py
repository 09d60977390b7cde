"""Test databases: one Postgres per run (embedded unless WXGATE_TEST_DATABASE_URL is set), a
migrated template built once per schema version, and a fresh clone of it for each test."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from gateway.store import embedded, migrate
from tests import knobs

ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = ROOT / "sql"

# Tests that start, stop or restart an embedded Postgres of their own (directly or through
# `wxgate run`) run one after another in one pytest process (`make test` uses --dist
# loadgroup): the embedded server's start and stop take one machine-wide lock, and two of
# them overlapping once hung a restart past its timeout.
OWN_SERVER = pytest.mark.xdist_group("own_postgres")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


class TestPostgres:
    """Owns the server for one pytest session and hands out per-test databases."""

    def __init__(self) -> None:
        self._embedded: embedded.EmbeddedPostgres | None = None
        self.admin_url = ""
        self.template = ""

    def start(self) -> None:
        url = knobs.DATABASE_URL
        if not url:
            self._embedded = embedded.EmbeddedPostgres(ROOT / ".wxgate-test")
            url = self._embedded.start()
        self.admin_url = url
        asyncio.run(self._ensure_template())

    def stop(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()

    async def _ensure_template(self) -> None:
        migrations = migrate.load(SQL_DIR)
        digest = hashlib.sha256("".join(m.checksum for m in migrations).encode()).hexdigest()[:16]
        self.template = f"wxgate_tpl_{digest}"
        conn = await asyncpg.connect(self.admin_url)
        try:
            # Several pytest processes may share one server: build each template once.
            await conn.execute("SELECT pg_advisory_lock(7007)")
            exists = await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", self.template
            )
            if not exists:
                building = self.template + "_building"
                await conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
                await conn.execute(f'CREATE DATABASE "{building}"')
                await migrate.migrate_url(with_database(self.admin_url, building), SQL_DIR)
                await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{self.template}"')
            await conn.execute("SELECT pg_advisory_unlock(7007)")
        finally:
            await conn.close()

    async def create_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:20]
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        finally:
            await conn.close()
        return with_database(self.admin_url, name)

    async def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
