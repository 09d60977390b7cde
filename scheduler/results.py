"""What WeChat answered, written back in one transaction per batch of finished calls.

sent -> sent (msgid); retry -> held with backoff (mass sends stay pinned to their key and
batch, keeping their units); stale view -> our follower/quota view is corrected and the row
is re-decided soon; other errors -> failed; never started -> queued again. A hold that would
outlast the message's expires_at is an expiry with that reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Sequence

from gateway.domain import kinds, periods, send_outcomes
from gateway.store import (
    delivery_results,
    delivery_rows,
    job_finish,
    message_status,
    pool,
    quota_units,
    tags,
)
from scheduler import backoff, options, sender, work

STALE_WINDOW = send_outcomes.STALE_WINDOW


@dataclasses.dataclass
class Plan:
    changes: list[delivery_rows.Change] = dataclasses.field(default_factory=list)
    give_back: dict[tuple[str, int], quota_units.Unit] = dataclasses.field(default_factory=dict)
    # Window counts of calls put back unmade (released): the re-decision must see them.
    windows_back: dict[tuple[str, int], delivery_rows.WindowCount] = dataclasses.field(
        default_factory=dict
    )
    message_of: dict[tuple[str, int], int] = dataclasses.field(default_factory=dict)
    close_windows: dict[tuple[str, int], tuple[str, str]] = dataclasses.field(default_factory=dict)
    unsubscribed: dict[tuple[str, int], tuple[str, str]] = dataclasses.field(default_factory=dict)
    no_quota: dict[tuple[str, int], tuple[str, dt.date]] = dataclasses.field(default_factory=dict)
    sent: dict[tuple[str, int], str] = dataclasses.field(default_factory=dict)  # -> msgid
    # Service masses to a tag that were not sent and will not be re-sent with their key:
    # the members charged at the claim get their units back (SPEC 9).
    tag_give_back: list[tuple[str, int]] = dataclasses.field(default_factory=list)


def plan(
    finished: Sequence[tuple[work.Call, sender.Result]],
    now: dt.datetime,
    tz: zoneinfo.ZoneInfo,
    opts: options.Options,
) -> Plan:
    """The changes for a batch of finished calls (pure but for the jitter source)."""
    out = Plan()
    for call, result in finished:
        items = call.items
        leader = items[0].id if len(items) == 1 else min(item.id for item in items)
        for item, outcome in result:
            out.message_of[item.key] = item.message_id
            change = _change(call, item, outcome, item.id == leader, now, tz, opts, out)
            out.changes.append(change)
            # A unit comes back only when WeChat refused the send for good: never when this
            # or an earlier attempt may have reached it.
            arrived = outcome.unknown or item.unknown_since is not None
            if change.quota_kind is None and item.quota is not None and not arrived:
                out.give_back[item.key] = item.quota
            if outcome.kind == "released" and item.window is not None:
                # No call was made: the count the claim took goes back to the same allowance.
                out.windows_back[item.key] = item.window
            if work.charges_tag_members(call) and change.status != "sent":
                if change.channel is None or change.status in ("failed", "expired"):
                    out.tag_give_back.append(item.key)
    return out


def _row(
    item: delivery_rows.ClaimedDelivery,
    outcome: send_outcomes.Outcome,
    status: str,
    *,
    pinned: bool = True,
    units: bool = True,
    reason: str | None = None,
    release_at: dt.datetime | None = None,
    attempt: int = 0,
    msgid: str | None = None,
) -> delivery_rows.Change:
    """One result row, built once. `pinned`: it keeps its channel, key and units (a mass
    send that waits to be retried with them); `units`: it keeps its units."""
    unit = item.quota if pinned and units else None
    return delivery_rows.Change(
        item.account_id,
        item.id,
        status,
        reason=reason,
        release_at=release_at,
        channel=item.channel if pinned else None,
        client_msg_id=item.client_msg_id if pinned else None,
        quota_kind=unit.kind if unit is not None else None,
        quota_key=unit.period if unit is not None else None,
        attempt=attempt,
        wechat_msgid=msgid,
        errcode=outcome.errcode,
        errmsg=outcome.errmsg,
        unknown=outcome.unknown,
        leased_attempts=item.attempts,
    )


def _change(
    call: work.Call,
    item: delivery_rows.ClaimedDelivery,
    outcome: send_outcomes.Outcome,
    leader: bool,
    now: dt.datetime,
    tz: zoneinfo.ZoneInfo,
    opts: options.Options,
    out: Plan,
) -> delivery_rows.Change:
    reason = outcome.reason
    pinnable = item.channel in delivery_rows.MASS_CHANNELS
    if outcome.kind == "sent":
        out.sent[item.key] = outcome.msgid or ""
        return _row(item, outcome, "sent", msgid=outcome.msgid)
    if outcome.kind == "failed":
        # A row that an attempt may have reached WeChat with keeps its units.
        return _row(item, outcome, "failed", units=item.unknown_since is not None, reason=reason)
    if outcome.kind == "released":
        if call.resend and pinnable:
            # It may have reached WeChat before: keep key, batch and units for the re-send.
            return _row(item, outcome, "queued", release_at=now if leader else None, attempt=-1)
        return _row(item, outcome, "queued", pinned=False, release_at=now, attempt=-1)
    if outcome.kind == "retry":
        release = backoff.retry_at(
            now, item.attempts, opts.jitter, base=opts.backoff_base, cap=opts.backoff_cap
        )
        if release >= call.message.expires_at:
            return _row(item, outcome, "expired", pinned=False, reason=reason)
        if pinnable:
            return _row(
                item, outcome, "held", reason=reason, release_at=release if leader else None
            )
        return _row(item, outcome, "held", pinned=False, reason=reason, release_at=release)
    # stale: correct our view, then re-decide soon (backing off if it keeps happening)
    release = backoff.retry_at(
        now, item.attempts, opts.jitter, base=opts.stale_delay, cap=opts.backoff_cap
    )
    if item.openid is not None and outcome.errcode in STALE_WINDOW:
        out.close_windows[item.key] = (item.account_id, item.openid)
    elif item.openid is not None and outcome.errcode == send_outcomes.NOT_SUBSCRIBED:
        out.unsubscribed[item.key] = (item.account_id, item.openid)
    elif outcome.errcode == send_outcomes.NO_MASS_QUOTA:
        if call.account.kind == kinds.AccountKind.SUBSCRIPTION:
            period = item.quota.period if item.quota else periods.day_key(now, tz)
            out.no_quota[item.key] = (item.account_id, period)
    if release >= call.message.expires_at:
        return _row(item, outcome, "expired", pinned=False, reason=reason)
    return _row(item, outcome, "held", pinned=False, reason=reason, release_at=release)


async def record(
    conn: pool.Connection,
    worker_id: str,
    now: dt.datetime,
    planned: Plan,
    throttle: message_status.RefreshThrottle | None = None,
) -> tuple[set[tuple[str, int]], list[message_status.Transition]]:
    """Write a plan in one transaction; returns the rows written (this worker still held
    their lease) and the message transitions appended."""
    async with conn.transaction():
        written = await delivery_results.record_results(conn, worker_id, now, planned.changes)
        await quota_units.give_back_units(
            conn, [u for k, u in planned.give_back.items() if k in written]
        )
        await delivery_results.give_back_windows(
            conn, now, [v for k, v in planned.windows_back.items() if k in written]
        )
        await tags.give_back_mass(conn, [k for k in planned.tag_give_back if k in written])
        await delivery_results.close_windows(
            conn, now, [v for k, v in planned.close_windows.items() if k in written]
        )
        await delivery_results.mark_unsubscribed(
            conn, now, [v for k, v in planned.unsubscribed.items() if k in written]
        )
        await quota_units.fill_account_usage(
            conn,
            [v for k, v in planned.no_quota.items() if k in written],
            periods.MASS_LIMIT[kinds.AccountKind.SUBSCRIPTION],
        )
        await job_finish.apply_early_job_finishes(
            conn, [(k[0], m) for k, m in planned.sent.items() if k in written and m], now
        )
        transitions = await message_status.refresh_messages(
            conn, [(k[0], planned.message_of[k]) for k in written], now, throttle=throttle
        )
    return written, list(transitions)
