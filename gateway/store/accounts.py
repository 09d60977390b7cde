"""Accounts: creation, listing, and PATCH (secret rotation, profile, upgrade to service)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from typing import Any

import asyncpg

from gateway.domain import encoding, kinds
from gateway.store import errors, messages, queries, rows
from gateway.store import pool as pool_mod

log = logging.getLogger(__name__)

# Changeable fields that PATCH writes as given (None in Change means "leave as it is").
_PLAIN = ("app_secret", "token", "rule_profile", "oauth_redirect_hosts")


def new_signing_key() -> str:
    """A fresh OAuth signing key: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


@dataclasses.dataclass(frozen=True, slots=True)
class Account:
    """An account as stored, secrets included: the API and console choose what leaves."""

    id: str
    kind: str
    app_id: str
    app_secret: str
    token: str
    encoding_aes_key: str | None
    previous_aes_key: str | None
    original_id: str | None
    rule_profile: str
    oauth_redirect_hosts: list[str]
    oauth_signing_key: str
    encoding_mode: str
    created_at: dt.datetime
    updated_at: dt.datetime
    upgraded_at: dt.datetime | None
    aes_key_rotated_at: dt.datetime | None
    followers_synced_at: dt.datetime | None
    pay_mch_id: str | None
    pay_apiv3_key: str | None
    pay_cert_pem: str | None
    pay_cert_serial: str | None
    pay_previous_cert_pem: str | None
    pay_previous_cert_serial: str | None
    pay_cert_rotated_at: dt.datetime | None


def account_of(row: rows.Row) -> Account:
    return rows.build(Account, row)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Change:
    """What a PATCH asks for. None leaves a field as it is, except for the nullable fields
    named in `given` (present in the request), where None removes the value."""

    kind: str | None = None
    app_secret: str | None = None
    token: str | None = None
    encoding_aes_key: str | None = None
    encoding_mode: str | None = None
    original_id: str | None = None
    rule_profile: str | None = None
    oauth_redirect_hosts: list[str] | None = None
    rotate_oauth_signing_key: bool = False
    given: frozenset[str] = frozenset()


async def create_account(conn: pool_mod.Connection | asyncpg.Pool, **fields: Any) -> Account:
    """Insert an account with a generated oauth_signing_key; the row comes back with secrets."""
    with errors.translated():
        row = await conn.fetchrow(
            queries.get("api_account_insert"),
            fields["id"],
            fields["kind"],
            fields["app_id"],
            fields["app_secret"],
            fields["token"],
            fields.get("encoding_aes_key"),
            fields.get("original_id"),
            fields.get("rule_profile", "seed"),
            fields.get("oauth_redirect_hosts", []),
            new_signing_key(),
            fields.get("encoding_mode")
            or encoding.default_mode(fields.get("encoding_aes_key") is not None),
        )
    assert row is not None
    log.info("account created", extra={"action": "account_create", "account_id": row["id"]})
    return account_of(row)


async def list_accounts(
    conn: pool_mod.Connection | asyncpg.Pool,
    after: str | None,
    limit: int,
    only: list[str] | None = None,
) -> list[Account]:
    """Up to `limit` accounts ordered by id, after `after`; `only`: just these ids."""
    found = await conn.fetch(queries.get("api_account_list"), after, limit, only)
    return rows.build_all(Account, found)


async def get_account(conn: pool_mod.Connection | asyncpg.Pool, account_id: str) -> Account:
    """One account row, secrets included (the API strips them); NotFound if absent."""
    row = await conn.fetchrow(queries.get("api_account_get"), account_id)
    if row is None:
        raise errors.NotFound(f"no account {account_id!r}")
    return account_of(row)


def _apply(current: dict[str, Any], change: Change) -> tuple[dict[str, Any], bool]:
    """The row after `change`, and whether it upgraded the kind. Raises DowngradeNotAllowed."""
    new = dict(current)
    old_kind = kinds.AccountKind(current["kind"])
    if change.kind is not None:
        new["kind"] = kinds.change_kind(old_kind, kinds.AccountKind(change.kind)).value
    upgraded = old_kind != kinds.AccountKind(new["kind"])
    for name in _PLAIN:
        if getattr(change, name) is not None:
            new[name] = getattr(change, name)
    if "original_id" in change.given:
        new["original_id"] = change.original_id
    if (
        "encoding_aes_key" in change.given
        and change.encoding_aes_key != current["encoding_aes_key"]
    ):
        # Keep the old key: callbacks encrypted before the rotation still decrypt.
        new["previous_aes_key"] = current["encoding_aes_key"]
        new["encoding_aes_key"] = change.encoding_aes_key
    new["encoding_mode"] = encoding.resolve_mode(
        None if change.encoding_mode is None else encoding.EncodingMode(change.encoding_mode),
        new["encoding_aes_key"] is not None,
        encoding.EncodingMode(current["encoding_mode"]),
        current["encoding_aes_key"] is not None,
    ).value
    if change.rotate_oauth_signing_key:
        new["oauth_signing_key"] = new_signing_key()
    return new, upgraded


async def update_account(
    pool: asyncpg.Pool, account_id: str, change: Change
) -> tuple[Account, bool]:
    """Apply a PATCH under a row lock; on an upgrade, wake every held delivery of the account
    so the scheduler re-decides it with the new capabilities. Returns (row, upgraded).
    Raises encoding.ModeNeedsKey for an encrypted mode left without a key."""
    async with pool.acquire() as conn, conn.transaction():
        current = await conn.fetchrow(queries.get("api_account_lock"), account_id)
        if current is None:
            raise errors.NotFound(f"no account {account_id!r}")
        new, upgraded = _apply(dict(current), change)
        row = await conn.fetchrow(
            queries.get("api_account_update"),
            account_id,
            new["kind"],
            new["app_secret"],
            new["token"],
            new["encoding_aes_key"],
            new["previous_aes_key"],
            new["original_id"],
            new["rule_profile"],
            new["oauth_redirect_hosts"],
            new["oauth_signing_key"],
            upgraded,
            new["encoding_mode"],
        )
        assert row is not None
        if upgraded:
            # What waits goes out under the service account's rules (SPEC 2.2).
            await conn.execute(
                queries.get("api_account_fan_out_all"),
                account_id,
                messages.EMPTY_AUDIENCE,
                timeout=messages.FAN_OUT_TIMEOUT,
            )
            await conn.execute(queries.get("api_account_wake_held"), account_id)
            await conn.execute(queries.get("api_notify_release"), account_id)
    log.info(
        "account updated%s",
        " (upgraded to service)" if upgraded else "",
        extra={"action": "account_update", "account_id": account_id},
    )
    return account_of(row), upgraded
