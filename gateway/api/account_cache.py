"""A short-lived in-process cache of what callbacks need per account (keys rotate rarely; a
few seconds of staleness is the price of not querying accounts on every callback).

The reply rules and the reply endpoint come with the account, under the same TTL: a PUT of
the rules reaches other processes within TTL seconds (the serving process forgets its entry
at once). A rule set is compiled once per version, and read again only when its version
changed. Callbacks that miss the same account at once share one load (64 connections at an
expired entry made 64 queries, each with the whole rule set)."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import logging
import time

import asyncpg

from gateway.domain import encoding, kinds, reply_content, reply_match, rotation, window
from gateway.store import callback_accounts
from gateway.wechat import crypto

log = logging.getLogger(__name__)

TTL = 5.0
MISSING_TTL = 1.0
# Callback URLs name any account id a client likes: the cache keeps the most recently used
# this many, so a flood of made-up ids cannot grow it without bound.
MAX_ENTRIES = 10_000
# The shared load gives up after this (its waiters stop at their own deadlines): one that hangs
# must not keep later callbacks from trying again.
LOAD_TIMEOUT = 3.0


@dataclasses.dataclass(frozen=True)
class ReplyEndpoint:
    """The account's endpoint in mode reply (SPEC 8), called inside the callback."""

    id: str
    url: str = dataclasses.field(repr=False)
    secrets: tuple[str, ...] = dataclasses.field(repr=False)  # the active ones, signing
    event_types: tuple[str, ...] | None


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
    replies: reply_match.Compiled = reply_match.EMPTY
    reply_endpoint: ReplyEndpoint | None = None

    @property
    def answers(self) -> bool:
        """Whether a callback may get a passive reply at all (the no-reply fast path)."""
        return not self.replies.empty or self.reply_endpoint is not None


class AccountCache:
    def __init__(
        self,
        db: asyncpg.Pool,
        ttl: float = TTL,
        max_entries: int = MAX_ENTRIES,
        load_timeout: float = LOAD_TIMEOUT,
    ) -> None:
        self._pool = db
        self._ttl = ttl
        self._load_timeout = load_timeout
        self._max = max_entries
        self._entries: collections.OrderedDict[str, tuple[float, CallbackAccount | None]] = (
            collections.OrderedDict()
        )
        self._compiled: dict[str, tuple[int, reply_match.Compiled]] = {}
        # The load in flight per account; every miss meanwhile awaits it.
        self._loading: dict[str, asyncio.Task[CallbackAccount | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def forget(self, account_id: str) -> None:
        """Drop the entry; a load already in flight no longer answers nor fills it."""
        self._entries.pop(account_id, None)
        self._compiled.pop(account_id, None)
        self._loading.pop(account_id, None)

    def cached(self, account_id: str) -> tuple[bool, CallbackAccount | None]:
        """(True, account or None) when a fresh entry answers without the database."""
        entry = self._entries.get(account_id)
        if entry is not None and entry[0] > time.monotonic():
            self._entries.move_to_end(account_id)
            return True, entry[1]
        return False, None

    async def get(self, account_id: str) -> CallbackAccount | None:
        """The account (None: no such account), from the entry or the one load in flight.
        A caller that stops waiting leaves the load to the others; its error reaches all."""
        hit, cached = self.cached(account_id)
        if hit:
            return cached
        task = self._loading.get(account_id)
        if task is None:
            task = asyncio.create_task(self._load(account_id))
            self._loading[account_id] = task
            task.add_done_callback(lambda done: self._settled(account_id, done))
        return await asyncio.shield(task)

    def _settled(self, account_id: str, task: asyncio.Task[CallbackAccount | None]) -> None:
        if self._loading.get(account_id) is task:
            del self._loading[account_id]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have given up

    async def _load(self, account_id: str) -> CallbackAccount | None:
        now = time.monotonic()
        known = self._compiled.get(account_id)
        async with asyncio.timeout(self._load_timeout):
            row = await callback_accounts.load(
                self._pool, account_id, None if known is None else known[0]
            )
        account = None if row is None else _build(row, self._rules(row, known))
        if self._loading.get(account_id) is not asyncio.current_task():
            return account  # forgotten meanwhile: answer these waiters, keep no entry
        self._entries[account_id] = (now + (self._ttl if account else MISSING_TTL), account)
        self._entries.move_to_end(account_id)
        while len(self._entries) > self._max:
            evicted, _ = self._entries.popitem(last=False)
            self._compiled.pop(evicted, None)
        return account

    def _rules(
        self,
        row: callback_accounts.CallbackAccountRow,
        known: tuple[int, reply_match.Compiled] | None,
    ) -> reply_match.Compiled:
        """The account's rule set compiled, reused while its version stays the same (the
        row then carries no rules)."""
        version = row.rules_version
        if version is None:
            self._compiled.pop(row.id, None)
            return reply_match.EMPTY
        if known is not None and known[0] == version:
            return known[1]
        try:
            compiled = reply_match.compiled_from_json(row.rules)
        except reply_content.Invalid:
            # Checked when saved; a set a later version's checks refuse answers nothing
            # rather than keeping the account's callbacks from being stored.
            log.warning(
                "stored reply rules refused; no rule answers",
                extra={"action": "reply_rules_refused", "account_id": row.id},
            )
            compiled = reply_match.EMPTY
        self._compiled[row.id] = (version, compiled)
        return compiled


def _endpoint(row: callback_accounts.CallbackAccountRow) -> ReplyEndpoint | None:
    if row.reply_endpoint_id is None or row.reply_url is None:
        return None
    now = dt.datetime.now(dt.UTC)
    return ReplyEndpoint(
        id=row.reply_endpoint_id,
        url=row.reply_url,
        secrets=row.active_secrets(now),
        event_types=row.reply_event_types,
    )


def _build(
    row: callback_accounts.CallbackAccountRow, replies: reply_match.Compiled
) -> CallbackAccount:
    keys = [row.encoding_aes_key]
    if rotation.previous_trusted(row.aes_key_rotated_at, dt.datetime.now(dt.UTC)):
        keys.append(row.previous_aes_key)  # only within the grace period after rotation
    present = [k for k in keys if k]
    return CallbackAccount(
        id=row.id,
        kind=kinds.AccountKind(row.kind),
        app_id=row.app_id,
        token=row.token,
        profile=window.RuleProfile(row.rule_profile),
        cryptos=tuple(crypto.MessageCrypto(row.token, k, row.app_id) for k in present),
        encoding_mode=encoding.EncodingMode(row.encoding_mode),
        original_id=row.original_id,
        replies=replies,
        reply_endpoint=_endpoint(row),
    )
