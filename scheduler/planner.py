"""The decisions of one claim, in claim order: each due row is decided by the pure core on
the follower state and quota usage as the earlier rows of the same claim left them; sends are
grouped into WeChat calls with their idempotency keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Mapping, Sequence

from gateway.domain import attempts, decide, kinds, periods, window
from gateway.store import delivery_rows, quota_units
from scheduler import changes, work

Channel = decide.Channel
MASS_BATCH_MAX = 10_000  # mass/send takes 2 to 10,000 openids
UNIT_LIMITS = {
    quota_units.FOLLOWER_MONTH: periods.MASS_LIMIT[kinds.AccountKind.SERVICE],
    quota_units.ACCOUNT_DAY: periods.MASS_LIMIT[kinds.AccountKind.SUBSCRIPTION],
}


@dataclasses.dataclass
class _Recipient:
    """A locked follower's state as the decisions of this claim change it."""

    subscribed: bool
    window: window.Window
    interacted_at: dt.datetime | None = None  # names the allowance with window.ends_at
    window_dirty: bool = False

    def domain(self) -> decide.Follower:
        return decide.Follower(self.subscribed, self.window)


@dataclasses.dataclass(frozen=True)
class _Sent:
    item: delivery_rows.ClaimedDelivery
    send: decide.Send
    unit: quota_units.Unit | None


class Planner:
    """Decides the rows of one claim in order, keeping usage and windows as they change."""

    def __init__(
        self,
        now: dt.datetime,
        tz: zoneinfo.ZoneInfo,
        accounts: Mapping[str, delivery_rows.Account],
        messages: Mapping[tuple[str, int], delivery_rows.Message],
        followers: Mapping[tuple[str, str], delivery_rows.LockedFollower],
        follower_used: Mapping[tuple[str, str, dt.date], int],
        account_used: Mapping[tuple[str, dt.date], int],
    ) -> None:
        self.now = now
        self.tz = tz
        self.accounts = accounts
        self.messages = messages
        self.month = periods.month_key(now, tz)
        self.day = periods.day_key(now, tz)
        self.follower_used = dict(follower_used)
        self.account_used = dict(account_used)
        self.recipients: dict[tuple[str, str], _Recipient] = {}
        self._domain_accounts: dict[str, decide.Account] = {}
        self.busy: set[tuple[str, str]] = set()
        for key, f in followers.items():
            if f.locked:
                self.recipients[key] = _Recipient(f.subscribed, f.window, f.last_interaction_at)
            elif f.busy:
                self.busy.add(key)
        self.sends: list[_Sent] = []
        self.changes: list[delivery_rows.Change] = []
        self.give_back: list[quota_units.Unit] = []
        self.skipped = 0
        # Rows held for an event on a follower that had no row: a second look after the
        # commit (gateway.store.wakeups) catches that follower's first callback.
        self.unseen: list[tuple[str, int]] = []

    # -- fresh rows ------------------------------------------------------------------------

    def _usage(self, item: delivery_rows.ClaimedDelivery) -> decide.Usage:
        f = self.follower_used.get((item.account_id, item.openid or "", self.month), 0)
        a = self.account_used.get((item.account_id, self.day), 0)
        return decide.Usage(follower_mass_used=f, account_mass_used=a)

    def _decide(self, item: delivery_rows.ClaimedDelivery, usage: decide.Usage) -> decide.Decision:
        account = self._domain_accounts.get(item.account_id)
        if account is None:
            account = self.accounts[item.account_id].domain(self.tz)
            self._domain_accounts[item.account_id] = account
        message = self.messages[(item.account_id, item.message_id)]
        recipient = self.recipients.get((item.account_id, item.openid or ""))
        follower = recipient.domain() if recipient is not None else None
        return decide.decide(account, follower, message.domain(), usage, self.now)

    def consider(self, item: delivery_rows.ClaimedDelivery) -> None:
        """Decide one due row on the state as the earlier rows of this claim left it."""
        if item.openid is not None and (item.account_id, item.openid) in self.busy:
            self.skipped += 1  # the inbound path holds the follower: next pass
            return
        decision = self._decide(item, self._usage(item))
        if not isinstance(decision, decide.Send):
            self.changes.append(changes.not_sent(item, decision))
            if (
                isinstance(decision, decide.Hold)
                and decision.wait_for is not None
                and item.openid is not None
                and (item.account_id, item.openid) not in self.recipients
            ):
                self.unseen.append(item.key)
            return
        if not attempts.repeat_allowed(decision.channel, item.unknown_since, self.now):
            # An earlier attempt may have arrived and the platform forgot its key.
            self.changes.append(changes.unknown_outcome(item))
            return
        unit = None
        if decision.quota == "follower_month" and item.openid is not None:
            unit = quota_units.Unit(
                quota_units.FOLLOWER_MONTH, item.account_id, item.openid, self.month
            )
            key = (item.account_id, item.openid, self.month)
            self.follower_used[key] = self.follower_used.get(key, 0) + decision.units
        elif decision.quota == "account_day":
            unit = quota_units.Unit(quota_units.ACCOUNT_DAY, item.account_id, None, self.day)
            key2 = (item.account_id, self.day)
            self.account_used[key2] = self.account_used.get(key2, 0) + decision.units
        if decision.channel == Channel.CUSTOM and item.openid is not None:
            recipient = self.recipients[(item.account_id, item.openid)]
            if recipient.window.remaining is not None:
                taken = delivery_rows.WindowCount(
                    item.account_id, item.openid, recipient.window.ends_at, recipient.interacted_at
                )
                item = dataclasses.replace(item, window=taken)
                recipient.window = window.consume(recipient.window)
                recipient.window_dirty = True
        self.sends.append(_Sent(item, decision, unit))

    def units(self) -> list[quota_units.Unit]:
        return [s.unit for s in self.sends if s.unit is not None]

    def refuse(self, refused: set[quota_units.Unit]) -> None:
        """Units the database would not give (another writer took them): those sends become
        the holds an exhausted quota gives."""
        if not refused:
            return
        kept = []
        for sent in self.sends:
            if sent.unit is None or sent.unit not in refused:
                kept.append(sent)
                continue
            exhausted = decide.Usage(
                follower_mass_used=UNIT_LIMITS[quota_units.FOLLOWER_MONTH],
                account_mass_used=UNIT_LIMITS[quota_units.ACCOUNT_DAY],
            )
            self.changes.append(changes.not_sent(sent.item, self._decide(sent.item, exhausted)))
        self.sends = kept

    # -- calls -----------------------------------------------------------------------------

    def calls(self, lease_until: dt.datetime) -> list[work.Call]:
        """Group the sends into calls, fix their keys, and lease their rows."""
        calls: list[work.Call] = []
        batches: dict[tuple[str, int], list[_Sent]] = defaultdict(list)
        for sent in self.sends:
            if sent.send.channel == Channel.MASS_OPENIDS:
                batches[(sent.item.account_id, sent.item.message_id)].append(sent)
                continue
            key = None
            if sent.send.channel in (Channel.TEMPLATE, Channel.MASS_SINGLE, Channel.SENDALL):
                key = work.delivery_key(sent.item.account_id, sent.item.id, sent.item.send_key)
            elif sent.send.channel in (Channel.RED_PACK, Channel.COUPON):
                key = work.pay_key(sent.item.account_id, sent.item.id, sent.item.send_key)
            calls.append(self._call(sent.send.channel, [sent], key, lease_until))
        for (_, message_id), group in batches.items():
            for start in range(0, len(group), MASS_BATCH_MAX):
                chunk = group[start : start + MASS_BATCH_MAX]
                if len(chunk) == 1:
                    # mass/send needs two openids: one recipient goes through a 1-member tag
                    first = chunk[0].item
                    key = work.delivery_key(first.account_id, first.id, first.send_key)
                    calls.append(self._call(Channel.MASS_SINGLE, chunk, key, lease_until))
                else:
                    key = work.batch_key(message_id)
                    calls.append(self._call(Channel.MASS_OPENIDS, chunk, key, lease_until))
        return calls

    def _call(
        self, channel: Channel, group: list[_Sent], key: str | None, lease_until: dt.datetime
    ) -> work.Call:
        items = []
        for sent in group:
            item = dataclasses.replace(
                sent.item,
                status="sending",
                channel=channel.value,
                client_msg_id=key,
                quota=sent.unit,
                attempts=sent.item.attempts + 1,
            )
            items.append(item)
            self.changes.append(
                delivery_rows.Change(
                    item.account_id,
                    item.id,
                    "sending",
                    channel=channel.value,
                    client_msg_id=key,
                    quota_kind=sent.unit.kind if sent.unit else None,
                    quota_key=sent.unit.period if sent.unit else None,
                    lease_until=lease_until,
                    attempt=1,
                )
            )
        first = items[0]
        return work.Call(
            self.accounts[first.account_id],
            self.messages[(first.account_id, first.message_id)],
            channel,
            tuple(items),
            key,
            lease_until=lease_until,
            decided_at=self.now,
        )

    def windows(self) -> dict[tuple[str, str], int]:
        return {
            key: r.window.remaining
            for key, r in self.recipients.items()
            if r.window_dirty and r.window.remaining is not None
        }

    # -- pinned rows -----------------------------------------------------------------------

    def resend(
        self, items: Sequence[delivery_rows.ClaimedDelivery], lease_until: dt.datetime
    ) -> list[work.Call]:
        """Pinned mass rows due for a retry: the same call again, unless the message expired
        (then their units are given back)."""
        live = []
        for item in items:
            message = self.messages[(item.account_id, item.message_id)]
            if self.now >= message.expires_at:
                self.changes.append(
                    delivery_rows.Change(
                        item.account_id, item.id, "expired", reason=item.reason or "expired"
                    )
                )
                if item.quota is not None and item.unknown_since is None:
                    self.give_back.append(item.quota)  # no attempt can have reached WeChat
                continue
            if not attempts.repeat_allowed(item.channel, item.unknown_since, self.now):
                self.changes.append(changes.unknown_outcome(item))
                continue
            live.append(dataclasses.replace(item, status="sending", attempts=item.attempts + 1))
            self.changes.append(
                delivery_rows.Change(
                    item.account_id,
                    item.id,
                    "sending",
                    channel=item.channel,
                    client_msg_id=item.client_msg_id,
                    quota_kind=item.quota.kind if item.quota else None,
                    quota_key=item.quota.period if item.quota else None,
                    lease_until=lease_until,
                    attempt=1,
                )
            )
        return work.resend_calls(live, self.accounts, self.messages)
