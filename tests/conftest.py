from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from gateway.store import pool as pool_mod
from tests import pg

# No test reads the shell's WXGATE_* settings (a developer's WXGATE_DATABASE_URL, say): every
# one is cleared here, at import, and a test that needs one sets it. The run's own knobs
# (WXGATE_TEST_*) were read by tests.knobs first (tests.pg imports it).
for _name in [name for name in os.environ if name.startswith("WXGATE_")]:
    del os.environ[_name]

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg.TestPostgres]:
    server = pg.TestPostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def db_url(postgres: pg.TestPostgres) -> AsyncIterator[str]:
    """A fresh, migrated database for this test alone."""
    url = await postgres.create_database()
    yield url
    await postgres.drop_database(url)


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await pool_mod.create(db_url, size=5)
    yield p
    await p.close()
