"""Migration 0008: accounts that existed before `encoding_mode` keep accepting what WeChat
sends them today (SPEC 2.2): `compatible` with a key, `plaintext` without."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from gateway.store import migrate
from tests import pg

BEFORE = "0008_add_account_encoding_mode.sql"


async def test_existing_accounts_get_compatible_with_a_key(
    postgres: pg.TestPostgres, tmp_path: Path
) -> None:
    url = await postgres.create_database()
    try:
        conn = await asyncpg.connect(url)
        await conn.execute("DROP TABLE schema_migrations")
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await conn.close()
        every = migrate.load(pg.SQL_DIR)
        for m in every:
            if m.name < BEFORE:
                (tmp_path / m.name).write_text(m.sql)
        await migrate.migrate_url(url, tmp_path)
        conn = await asyncpg.connect(url)
        try:
            for account_id, key in (("keyed", "k" * 43), ("plain", None)):
                await conn.execute(
                    "INSERT INTO accounts (id, kind, app_id, app_secret, token,"
                    " encoding_aes_key, oauth_signing_key)"
                    " VALUES ($1, 'service', $1, 's', 't', $2, 'sign')",
                    account_id,
                    key,
                )
            await migrate.migrate_url(url, pg.SQL_DIR)
            rows = await conn.fetch("SELECT id, encoding_mode FROM accounts ORDER BY id")
            assert [tuple(r) for r in rows] == [("keyed", "compatible"), ("plain", "plaintext")]
            # An encrypted mode without a key cannot be stored, whoever writes the row.
            status = await conn.execute(
                "UPDATE accounts SET encoding_mode = 'safe' WHERE id = 'keyed'"
            )
            assert status == "UPDATE 1"
            try:
                await conn.execute("UPDATE accounts SET encoding_mode = 'safe' WHERE id = 'plain'")
            except asyncpg.CheckViolationError as exc:
                assert exc.constraint_name == "accounts_encoding_mode_key_check"
            else:
                raise AssertionError("safe mode without a key was stored")
        finally:
            await conn.close()
    finally:
        await postgres.drop_database(url)
