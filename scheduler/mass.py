"""The batch path of a release pass (issue 19): service `all` masses expanded into batches,
one mass/send call per claimed batch with its clientmsgid, its result recorded per batch.

A pass expands what is due, takes over batches whose lease ended, claims due batches, makes
their calls concurrently within the account's limits and records the results in one
transaction. Deliveries (every other message) go through scheduler.claim and sender.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import zoneinfo
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from gateway.domain import attempts, decide, periods, send_outcomes
from gateway.store import claims, delivery_rows, mass_batches, mass_expansion, message_status
from gateway.store import pool as pool_mod
from gateway.wechat import client as wx
from gateway.wechat import payloads
from scheduler import backoff, credentials, options, ratelimit, sender

log = logging.getLogger(__name__)

T = TypeVar("T")


class Transaction(Protocol):
    """Runs `work` on a pooled connection, again after a deadlock (Worker._transaction)."""

    async def __call__(self, work: Callable[[pool_mod.Connection], Awaitable[T]], /) -> T: ...


Batch = mass_batches.Batch
PROBE_INTERVAL = dt.timedelta(seconds=1)  # as the release tick


@dataclasses.dataclass(frozen=True)
class MassStats:
    claimed: int  # messages expanded, batches locked or taken over
    processed: int  # batches whose state changed (a put-back does not count)
    transitions: list[message_status.Transition]


def batches_per_pass(opts: options.Options) -> int:
    """Batches one pass claims: at least 8 (their calls go out concurrently)."""
    return max(8, opts.mass_rows_per_pass // mass_expansion.BATCH_MAX)


class MassSender:
    """Claims, sends and records batches; shares the worker's limits, tokens and clock."""

    def __init__(
        self,
        *,
        client: wx.WeChatClient,
        tokens: credentials.TokenCache,
        limiter: ratelimit.RateLimiter,
        stop: asyncio.Event,
        clock: Callable[[], dt.datetime],
        opts: options.Options,
        tz: zoneinfo.ZoneInfo,
        worker_id: str,
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.limiter = limiter
        self.stop = stop
        self.clock = clock
        self.opts = opts
        self.tz = tz
        self.worker_id = worker_id
        self.lease_margin = dt.timedelta(seconds=opts.lease_margin())
        # When nothing was due at the last probe, the next is made PROBE_INTERVAL later (on
        # the worker's clock): the delivery path's passes are not slowed by the batch path.
        self._next_probe: dt.datetime | None = None

    async def run_pass(self, transaction: Transaction) -> MassStats:
        now = self.clock()
        if self._next_probe is not None and now < self._next_probe:
            return MassStats(0, 0, [])
        lease_until = now + self.opts.lease
        limit = batches_per_pass(self.opts)
        if not await transaction(lambda c: mass_batches.work_due(c, now)):
            self._next_probe = now + PROBE_INTERVAL
            return MassStats(0, 0, [])
        self._next_probe = None
        expanded, transitions = await transaction(
            lambda c: mass_expansion.expand_due(c, now, self.tz, 1)
        )
        expires: dict[tuple[str, int], dt.datetime] = {}
        taken, live, more = await transaction(
            lambda c: mass_batches.take_over(
                c, now, expires, worker_id=self.worker_id, lease_until=lease_until, limit=limit
            )
        )
        transitions += more
        locked, leased, more = await transaction(
            lambda c: mass_batches.claim(
                c, now, self.tz, worker_id=self.worker_id, lease_until=lease_until, limit=limit
            )
        )
        transitions += more
        batches = live + leased
        processed = (taken - len(live)) + (locked - len(leased))
        if batches:
            sent, more = await self._send(transaction, batches)
            processed += sent
            transitions += more
        return MassStats(expanded + taken + locked, processed, transitions)

    async def _send(
        self, transaction: Transaction, batches: Sequence[Batch]
    ) -> tuple[int, list[message_status.Transition]]:
        keys = {(b.account_id, b.message_id) for b in batches}
        accounts, messages = await transaction(lambda c: _context(c, keys))
        finished = await asyncio.gather(
            *(
                self._one(accounts[b.account_id], messages[(b.account_id, b.message_id)], b)
                for b in batches
            )
        )
        results = [r for r in finished if r is not None]
        now = self.clock()
        written, _sent, transitions = await transaction(
            lambda c: mass_batches.record(c, self.worker_id, now, results)
        )
        return sum(1 for r in results if r.key in written and not r.released), transitions

    async def _one(
        self, account: delivery_rows.Account, message: delivery_rows.Message, batch: Batch
    ) -> mass_batches.Result | None:
        try:
            return await self._limited(account, message, batch)
        except Exception:
            # Left leased: the lease ends and a worker takes the batch over with its key.
            log.exception(
                "batch send crashed", extra={"action": "send_crash", "account_id": account.id}
            )
            return None

    async def _limited(
        self, account: delivery_rows.Account, message: delivery_rows.Message, batch: Batch
    ) -> mass_batches.Result:
        released = mass_batches.Result(batch.key, "queued", release_at=self.clock(), released=True)
        limiter = self.limiter.account(account.id)
        async with self.limiter.slot(account.id):
            if self.stop.is_set() or not await limiter.calls.take(self.stop):
                return released
            if not await limiter.mass.take(self.stop):
                return released
            now = self.clock()
            if now + self.lease_margin > batch.lease_until or _period_turned(batch, now, self.tz):
                # Another worker may take it over soon, or its units are of an ended month
                # (the next claim rebases it): put back unmade.
                limiter.calls.give_back()
                limiter.mass.give_back()
                return released
            if not attempts.repeat_allowed(decide.Channel.MASS_OPENIDS, batch.unknown_since, now):
                return mass_batches.Result(batch.key, "failed", attempts.OUTCOME_UNKNOWN)
            try:
                answer = await self._with_token(account, message, batch)
            except (wx.WeChatError, wx.TransportError, sender.TokenUnavailable) as exc:
                outcome = sender.classify(exc, account.kind)
                log.info(
                    "batch send refused (%s): %s",
                    outcome.kind,
                    exc,
                    extra={
                        "action": "send_" + outcome.kind,
                        "account_id": account.id,
                        "message_id": message.id,
                    },
                )
                return self._refused(batch, message, outcome)
        msgid = answer.get("msg_id", answer.get("msgid"))
        return mass_batches.Result(batch.key, "sent", msgid=None if msgid is None else str(msgid))

    def _refused(
        self, batch: Batch, message: delivery_rows.Message, outcome: send_outcomes.Outcome
    ) -> mass_batches.Result:
        """A retry (and a stale view: the batch keeps its units and key) is held with backoff,
        or expires when that would outlast the message; anything else fails. Units come back
        only when no attempt may have reached WeChat."""
        arrived = outcome.unknown or batch.unknown_since is not None
        now = self.clock()
        if outcome.kind == "failed":
            return mass_batches.Result(
                batch.key,
                "failed",
                outcome.reason,
                errcode=outcome.errcode,
                errmsg=outcome.errmsg,
                unknown=outcome.unknown,
                give_back=not arrived,
            )
        base = self.opts.backoff_base if outcome.kind == "retry" else self.opts.stale_delay
        release = backoff.retry_at(
            now, batch.attempts, self.opts.jitter, base=base, cap=self.opts.backoff_cap
        )
        status = "expired" if release >= message.expires_at else "held"
        return mass_batches.Result(
            batch.key,
            status,
            outcome.reason,
            release_at=release if status == "held" else None,
            errcode=outcome.errcode,
            errmsg=outcome.errmsg,
            unknown=outcome.unknown,
            give_back=status == "expired" and not arrived,
        )

    async def _with_token(
        self, account: delivery_rows.Account, message: delivery_rows.Message, batch: Batch
    ) -> dict[str, Any]:
        payload = payloads.mass_openids(
            batch.openids, payloads.mass(dict(message.content or {}), batch.client_msg_id)
        )
        token = await self._token(account)
        try:
            return await self._deduped(account, token, payload)
        except wx.WeChatError as exc:
            if exc.errcode not in wx.STALE_TOKEN_ERRCODES:
                raise
        await self.tokens.stale(account, token)
        return await self._deduped(account, await self._token(account), payload)

    async def _token(self, account: delivery_rows.Account) -> str:
        try:
            return await self.tokens.get(account)
        except (wx.WeChatError, wx.TransportError) as exc:
            raise sender.TokenUnavailable(exc) from exc

    async def _deduped(
        self, account: delivery_rows.Account, token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return await self.client.send_mass(token, payload)
        except wx.WeChatError as exc:
            if exc.errcode == sender.CLIENTMSGID_EXISTS:
                # The platform already took this clientmsgid: the batch was sent.
                log.info(
                    "mass send already done (45065)",
                    extra={"action": "send_deduped", "account_id": account.id},
                )
                return exc.payload
            raise


def _period_turned(batch: Batch, now: dt.datetime, tz: zoneinfo.ZoneInfo) -> bool:
    """Units of a month that has ended since the claim, no attempt of which may have reached
    WeChat: the platform would count the send in the new month."""
    return (
        batch.unknown_since is None
        and batch.quota_period is not None
        and batch.quota_period != periods.month_key(now, tz)
    )


async def _context(
    conn: pool_mod.Connection, keys: set[tuple[str, int]]
) -> tuple[dict[str, delivery_rows.Account], dict[tuple[str, int], delivery_rows.Message]]:
    accounts = await claims.load_accounts(conn, {k[0] for k in keys})
    messages = await claims.load_messages(conn, keys)
    return accounts, messages
