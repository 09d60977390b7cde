"""A short-lived in-process cache of what callbacks need per account (keys rotate rarely; a
few seconds of staleness is the price of not querying accounts on every callback)."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import time

import asyncpg

from gateway.domain import encoding, kinds, rotation, window
from gateway.store import queries
from gateway.wechat import crypto

TTL = 5.0
MISSING_TTL = 1.0
# Callback URLs name any account id a client likes: the cache keeps the most recently used
# this many, so a flood of made-up ids cannot grow it without bound.
MAX_ENTRIES = 10_000


@dataclasses.dataclass(frozen=True)
class CallbackAccount:
    id: str
    kind: kinds.AccountKind
    app_id: str
    token: str
    profile: window.RuleProfile
    # Current key first, then the previous one within its grace period after the rotation
    # (WeChat's rotation advice: try both).
    cryptos: tuple[crypto.MessageCrypto, ...]
    encoding_mode: encoding.EncodingMode
    original_id: str | None  # set: a callback's ToUserName must be this


class AccountCache:
    def __init__(self, db: asyncpg.Pool, ttl: float = TTL, max_entries: int = MAX_ENTRIES) -> None:
        self._pool = db
        self._ttl = ttl
        self._max = max_entries
        self._entries: collections.OrderedDict[str, tuple[float, CallbackAccount | None]] = (
            collections.OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._entries)

    def forget(self, account_id: str) -> None:
        self._entries.pop(account_id, None)

    def cached(self, account_id: str) -> tuple[bool, CallbackAccount | None]:
        """(True, account or None) when a fresh entry answers without the database."""
        entry = self._entries.get(account_id)
        if entry is not None and entry[0] > time.monotonic():
            self._entries.move_to_end(account_id)
            return True, entry[1]
        return False, None

    async def get(self, account_id: str) -> CallbackAccount | None:
        hit, cached = self.cached(account_id)
        if hit:
            return cached
        now = time.monotonic()
        row = await self._pool.fetchrow(queries.get("inbound_account"), account_id)
        account = None if row is None else _build(row)
        self._entries[account_id] = (now + (self._ttl if account else MISSING_TTL), account)
        self._entries.move_to_end(account_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return account


def _build(row: asyncpg.Record) -> CallbackAccount:
    keys = [row["encoding_aes_key"]]
    if rotation.previous_trusted(row["aes_key_rotated_at"], dt.datetime.now(dt.UTC)):
        keys.append(row["previous_aes_key"])  # only within the grace period after rotation
    keys = [k for k in keys if k]
    return CallbackAccount(
        id=row["id"],
        kind=kinds.AccountKind(row["kind"]),
        app_id=row["app_id"],
        token=row["token"],
        profile=window.RuleProfile(row["rule_profile"]),
        cryptos=tuple(crypto.MessageCrypto(row["token"], k, row["app_id"]) for k in keys),
        encoding_mode=encoding.EncodingMode(row["encoding_mode"]),
        original_id=row["original_id"],
    )
