"""The claim: one transaction that locks due deliveries and their followers, decides each one
with the pure core on the locked state, consumes quota units, and leases the sends.

Also the take-over of expired leases (a worker died mid-send): those rows are re-sent as they
were, with the same idempotency key, never re-decided or re-batched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import zoneinfo
from collections.abc import Mapping, Sequence

from gateway.domain import attempts, decide, kinds, periods
from gateway.store import claims, delivery_rows, message_status, pool, quota_units, tags, wakeups
from scheduler import planner, work

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Claimed:
    calls: list[work.Call]
    claimed: int  # rows locked (some may have been skipped: their follower was busy)
    decided: int  # rows held, expired or failed without a call
    transitions: list[message_status.Transition] = dataclasses.field(default_factory=list)


async def _context(
    conn: pool.Connection, items: Sequence[delivery_rows.ClaimedDelivery]
) -> tuple[dict[str, delivery_rows.Account], dict[tuple[str, int], delivery_rows.Message]]:
    accounts = await claims.load_accounts(conn, {i.account_id for i in items})
    messages = await claims.load_messages(conn, {(i.account_id, i.message_id) for i in items})
    return accounts, messages


async def claim(
    conn: pool.Connection,
    now: dt.datetime,
    *,
    worker_id: str,
    tz: zoneinfo.ZoneInfo,
    per_account: int,
    total: int,
    lease: dt.timedelta,
    mass_rows: int = planner.MASS_BATCH_MAX,
    throttle: message_status.RefreshThrottle | None = None,
    caps: Mapping[str, int] | None = None,
) -> Claimed:
    """Claim, decide and lease due work in one transaction; the calls come back to be made.
    `caps`: accounts that may have fewer rows than `per_account` (calls already wait)."""
    async with conn.transaction():
        rows = await claims.claim_due(conn, now, per_account, total, caps)
        if not rows:
            return Claimed([], 0, 0)
        items = [r for r in rows]
        leaders = {(i.account_id, i.client_msg_id or "") for i in items if i.pinned}
        members = await claims.lock_batch_members(conn, leaders)
        items += [r for r in members]
        items, turned = _unpin_turned(items, now, tz)
        await quota_units.give_back_units(conn, turned)
        accounts, messages = await _context(conn, items)
        # An openid-list mass message goes out in as few calls as the platform allows (the
        # mass API has a daily call quota), whatever the pass's per-account share.
        batchable = {
            (i.account_id, i.message_id)
            for i in items
            if not i.pinned
            and _batchable(accounts[i.account_id], messages[(i.account_id, i.message_id)])
        }
        if batchable:
            held = {i.key for i in items}
            extra = await claims.claim_message_rows(conn, now, batchable, mass_rows)
            items += [r for r in extra if r.key not in held]
        pinned = [i for i in items if i.pinned]
        fresh = [i for i in items if not i.pinned]
        recipients = {(i.account_id, i.openid) for i in fresh if i.openid is not None}
        followers = await claims.lock_followers(conn, recipients)
        month, day = periods.month_key(now, tz), periods.day_key(now, tz)
        follower_used = await quota_units.follower_usage(
            conn,
            {
                (i.account_id, i.openid, month)
                for i in fresh
                if i.openid is not None
                and accounts[i.account_id].kind == kinds.AccountKind.SERVICE
                and _uses_units(messages[(i.account_id, i.message_id)])
                and followers[(i.account_id, i.openid)].locked
            },
        )
        account_used = await quota_units.account_usage(
            conn,
            {
                (i.account_id, day)
                for i in fresh
                if accounts[i.account_id].kind == kinds.AccountKind.SUBSCRIPTION
                and messages[(i.account_id, i.message_id)].type == decide.MessageType.MASS
            },
        )
        plan = planner.Planner(now, tz, accounts, messages, followers, follower_used, account_used)
        for item in fresh:
            plan.consider(item)
        plan.refuse(await quota_units.consume_units(conn, plan.units(), planner.UNIT_LIMITS))
        lease_until = now + lease
        calls = plan.calls(lease_until) + [
            dataclasses.replace(c, lease_until=lease_until)
            for c in plan.resend(pinned, lease_until)
        ]
        await _charge_tag_members(conn, calls, month)
        await quota_units.give_back_units(conn, plan.give_back)
        await claims.apply_decisions(conn, now, worker_id, plan.changes)
        await claims.update_windows(conn, now, plan.windows())
        message_of = {i.key: i.message_id for i in items}
        touched = {(c.account_id, message_of[(c.account_id, c.id)]) for c in plan.changes}
        transitions = await message_status.refresh_messages(conn, touched, now, throttle=throttle)
    await wakeups.after_claim(conn, now, plan.unseen)
    decided = sum(1 for c in plan.changes if c.status != "sending")
    if plan.skipped:
        log.info(
            "skipped %d deliveries whose follower was busy",
            plan.skipped,
            extra={"action": "claim_skip_busy"},
        )
    return Claimed(calls, len(items), decided, list(transitions))


def _unpin_turned(
    items: list[delivery_rows.ClaimedDelivery], now: dt.datetime, tz: zoneinfo.ZoneInfo
) -> tuple[list[delivery_rows.ClaimedDelivery], list[quota_units.Unit]]:
    """Pinned mass rows whose units belong to a period that has ended, and no attempt of
    which can have reached WeChat (every one was refused): the retry will be the first send
    the platform sees, counted in the new period. They lose key, batch and units and are
    decided afresh; the old units are returned."""
    groups: dict[tuple[str, str], list[delivery_rows.ClaimedDelivery]] = {}
    for item in items:
        if item.pinned:
            groups.setdefault((item.account_id, item.client_msg_id or ""), []).append(item)
    moved: dict[tuple[str, int], delivery_rows.ClaimedDelivery] = {}
    units: list[quota_units.Unit] = []
    for group in groups.values():
        ended = [
            i.quota
            for i in group
            if i.unknown_since is None and i.quota is not None and _ended_period(i.quota, now, tz)
        ]
        if len(ended) == len(group):
            units += ended
            for i in group:
                moved[i.key] = dataclasses.replace(i, channel=None, client_msg_id=None, quota=None)
    return [moved.get(i.key, i) for i in items], units


def _ended_period(unit: quota_units.Unit, now: dt.datetime, tz: zoneinfo.ZoneInfo) -> bool:
    if unit.kind == quota_units.FOLLOWER_MONTH:
        return unit.period != periods.month_key(now, tz)
    return unit.period != periods.day_key(now, tz)


async def _charge_tag_members(
    conn: pool.Connection, calls: Sequence[work.Call], month: dt.date
) -> None:
    """Service masses to a tag consume a unit of every member who still has one, in this
    transaction, as openid-list masses do (SPEC 9); a re-send keeps its first charge."""
    limit = periods.MASS_LIMIT[kinds.AccountKind.SERVICE]
    for call in calls:
        if call.resend or not work.charges_tag_members(call):
            continue
        tag_id = int((call.message.audience or {})["tag_id"])
        for item in call.items:
            await tags.charge_mass(conn, item.account_id, item.id, tag_id, month, limit)


def _batchable(account: delivery_rows.Account, message: delivery_rows.Message) -> bool:
    """Mass by openid list (or `all`, fanned out) on a service account: mass/send batches."""
    return (
        account.kind == kinds.AccountKind.SERVICE
        and message.type == decide.MessageType.MASS
        and message.audience_kind() != decide.Audience.TAG
    )


def _uses_units(message: delivery_rows.Message) -> bool:
    """Mass messages, and customer-service messages that may reach outside the window."""
    return message.type == decide.MessageType.MASS or message.outside_window == "reach"


async def take_over(
    conn: pool.Connection,
    now: dt.datetime,
    *,
    worker_id: str,
    lease: dt.timedelta,
    limit: int,
) -> Claimed:
    """Lease rows whose worker's lease expired (it died mid-send) and re-send them as they
    were: same channel, same key, same batch, the units they already took."""
    candidates = await claims.expired_leases(conn, now, limit)
    if not candidates:
        return Claimed([], 0, 0)
    transitions: Sequence[message_status.Transition] = []
    async with conn.transaction():
        rows = await claims.take_leases(conn, now, candidates, now + lease, worker_id)
        items = [r for r in rows]
        accounts, messages = await _context(conn, items)
        ended = [
            change
            for item in items
            if (change := _ended(item, messages[(item.account_id, item.message_id)], now))
        ]
        if ended:
            await claims.apply_decisions(conn, now, worker_id, ended)
            message_of = {i.key: i.message_id for i in items}
            transitions = await message_status.refresh_messages(
                conn, {(c.account_id, message_of[(c.account_id, c.id)]) for c in ended}, now
            )
    if items:
        log.warning(
            "took over %d deliveries whose lease expired (%d ended)",
            len(items),
            len(ended),
            extra={"action": "lease_takeover"},
        )
    done = {(c.account_id, c.id) for c in ended}
    calls = [
        dataclasses.replace(c, lease_until=now + lease)
        for c in work.resend_calls([i for i in items if i.key not in done], accounts, messages)
    ]
    return Claimed(calls, len(items), len(ended), list(transitions))


def _ended(
    item: delivery_rows.ClaimedDelivery, message: delivery_rows.Message, now: dt.datetime
) -> delivery_rows.Change | None:
    """A taken-over row that must not be sent again: its message expired, its lease was lost
    too often (a send that kills its worker every time), or the platform's deduplication of
    its key has lapsed since the lost attempt. Its units stay taken: the lost call may have
    reached WeChat."""
    if now >= message.expires_at:
        status, reason = "expired", attempts.OUTCOME_UNKNOWN
    elif not attempts.takeover_allowed(item.takeovers):
        status, reason = "failed", attempts.ATTEMPTS_EXHAUSTED
    elif not attempts.repeat_allowed(item.channel, item.unknown_since, now):
        status, reason = "failed", attempts.OUTCOME_UNKNOWN
    else:
        return None
    return delivery_rows.Change(
        item.account_id,
        item.id,
        status,
        reason=reason,
        channel=item.channel,
        client_msg_id=item.client_msg_id,
        quota_kind=item.quota.kind if item.quota else None,
        quota_key=item.quota.period if item.quota else None,
        attempt=-1,  # no call was made
    )
