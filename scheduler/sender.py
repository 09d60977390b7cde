"""The rate-limited sender: WeChat calls for claimed sends, and an outcome for each row.

A call waits for its account's rate and concurrency limits; one that has not started when the
worker stops comes back `released`. A stale token (40001/42001) is invalidated and the call
retried once with a fresh token; 45065 (clientmsgid exists) means the send was already done.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable
from typing import Any

from gateway import errors
from gateway.domain import decide, kinds, send_outcomes
from gateway.store import delivery_rows
from gateway.wechat import client as wx
from gateway.wechat import payloads
from scheduler import credentials, gates, ratelimit, work

log = logging.getLogger(__name__)

Channel = decide.Channel

CUSTOM_PATH = "/cgi-bin/message/custom/send"
TEMPLATE_PATH = "/cgi-bin/message/template/send"
MASS_PATH = "/cgi-bin/message/mass/send"
SENDALL_PATH = "/cgi-bin/message/mass/sendall"
TAGS_GET_PATH = "/cgi-bin/tags/get"
REDPACK_PATH = wx.REDPACK_PATH
COUPON_PATH = wx.COUPON_PATH

CLIENTMSGID_EXISTS = 45065
TAG_NAME_EXISTS = 45157

Outcome = send_outcomes.Outcome
RELEASED = send_outcomes.RELEASED
UNKNOWN_FAILED = send_outcomes.UNKNOWN_FAILED
NO_MERCHANT = send_outcomes.NO_MERCHANT


class TokenUnavailable(errors.WxgateError):
    """No access token could be had (stable_token failed): the send did not happen."""

    def __init__(self, cause: wx.WeChatError | wx.TransportError) -> None:
        super().__init__(f"no access token: {cause}")
        self.cause = cause


Result = list[tuple[delivery_rows.ClaimedDelivery, Outcome]]


def classify(error: Exception, account_kind: kinds.AccountKind) -> Outcome:
    """What an error from a send means (gateway.domain.send_outcomes)."""
    if isinstance(error, TokenUnavailable):
        code = error.cause.errcode if isinstance(error.cause, wx.WeChatError) else None
        return send_outcomes.token_unavailable(code, str(error))
    if isinstance(error, wx.TransportError):
        return send_outcomes.transport_failed(str(error))
    if not isinstance(error, wx.WeChatError):
        raise TypeError(f"not a WeChat call error: {error!r}")
    stale = error.errcode in wx.STALE_TOKEN_ERRCODES
    return send_outcomes.classify(error.errcode, error.errmsg, account_kind, stale_token=stale)


def _msgid(answer: dict[str, Any]) -> str | None:
    # Payment sends answer with the platform's own ids for the red pack or coupon.
    value = answer.get("msgid", answer.get("msg_id", answer.get("send_listid")))
    value = value if value is not None else answer.get("coupon_id")
    return None if value is None else str(value)


class Sender:
    """Makes the calls of a pass, within each account's limits."""

    def __init__(
        self,
        client: wx.WeChatClient,
        tokens: credentials.TokenCache,
        limiter: ratelimit.RateLimiter,
        stop: asyncio.Event,
        on_start: Callable[[work.Call], None],
        *,
        clock: Callable[[], dt.datetime] | None = None,
        lease_margin: float = 0.0,
        tz: zoneinfo.ZoneInfo | None = None,
        max_decision_age: float = 5.0,
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.limiter = limiter
        self.stop = stop
        self.on_start = on_start
        self.clock = clock
        self.lease_margin = dt.timedelta(seconds=lease_margin)
        self.tz = tz
        self.max_decision_age = dt.timedelta(seconds=max_decision_age)

    def _verdict(self, call: work.Call) -> gates.Verdict:
        if self.clock is None:
            return "start"
        return gates.check(
            call,
            self.clock(),
            lease_margin=self.lease_margin,
            tz=self.tz,
            max_decision_age=self.max_decision_age,
        )

    async def send(self, call: work.Call) -> Result:
        """Make one call when the account's limits allow; an outcome for each of its rows."""
        limiter = self.limiter.account(call.account.id)
        if call.channel == Channel.MASS_SINGLE:
            async with limiter.tag_sends:
                return await self._limited(call, limiter)
        return await self._limited(call, limiter)

    async def _limited(self, call: work.Call, limiter: ratelimit.AccountLimiter) -> Result:
        async with self.limiter.slot(call.account.id):
            if self.stop.is_set() or not await limiter.calls.take(self.stop):
                return [(i, RELEASED) for i in call.items]
            if call.channel in delivery_rows.MASS_CHANNELS and not await limiter.mass.take(
                self.stop
            ):
                return [(i, RELEASED) for i in call.items]
            verdict = self._verdict(call)
            if verdict != "start":
                log.log(
                    logging.DEBUG if verdict == "lease_short" else logging.INFO,
                    "call not started (%s)",
                    verdict,
                    extra={
                        "action": "send_" + verdict,
                        "account_id": call.account.id,
                        "message_id": call.message.id,
                    },
                )
                if verdict == "outcome_unknown":
                    return [(i, UNKNOWN_FAILED) for i in call.items]
                limiter.calls.give_back()  # no call was made: the next one may have it
                if call.channel in delivery_rows.MASS_CHANNELS:
                    limiter.mass.give_back()
                return [(i, RELEASED) for i in call.items]
            self.on_start(call)
            try:
                answer = await self._with_token(call)
            except (wx.WeChatError, wx.TransportError, TokenUnavailable) as exc:
                outcome = classify(exc, call.account.kind)
                log.info(
                    "send refused (%s): %s",
                    outcome.kind,
                    exc,
                    extra={
                        "action": "send_" + outcome.kind,
                        "account_id": call.account.id,
                        "message_id": call.message.id,
                    },
                )
                return [(i, outcome) for i in call.items]
        sent = Outcome("sent", msgid=_msgid(answer))
        return [(i, sent) for i in call.items]

    async def _token(self, call: work.Call) -> str:
        try:
            return await self.tokens.get(call.account)
        except (wx.WeChatError, wx.TransportError) as exc:
            raise TokenUnavailable(exc) from exc

    async def _with_token(self, call: work.Call) -> dict[str, Any]:
        token = await self._token(call)
        try:
            return await self._done_once(call, token)
        except wx.WeChatError as exc:
            if exc.errcode not in wx.STALE_TOKEN_ERRCODES:
                raise
        await self.tokens.stale(call.account, token)
        return await self._done_once(call, await self._token(call))

    async def _done_once(self, call: work.Call, token: str) -> dict[str, Any]:
        try:
            return await self._perform(call, token)
        except wx.WeChatError as exc:
            if exc.errcode == CLIENTMSGID_EXISTS:
                # The platform already took this clientmsgid: the send is done.
                log.info(
                    "mass send already done (45065)",
                    extra={"action": "send_deduped", "account_id": call.account.id},
                )
                return exc.payload
            raise

    async def _perform(self, call: work.Call, token: str) -> dict[str, Any]:
        message = call.message
        content = dict(message.content or {})
        if call.channel == Channel.CUSTOM:
            return await self.client.send_custom(
                token, payloads.custom(call.items[0].openid, content)
            )
        if call.channel == Channel.TEMPLATE:
            payload = payloads.template(call.items[0].openid, message.template or {}, call.key)
            return await self.client.send_template(token, payload)
        if call.channel in (Channel.RED_PACK, Channel.COUPON):
            return await self._pay(call, token, content)
        mass = payloads.mass(content, call.key)
        if call.channel == Channel.MASS_OPENIDS:
            payload = payloads.mass_openids([i.openid for i in call.items], mass)
            return await self.client.send_mass(token, payload)
        if call.channel == Channel.SENDALL:
            return await self.client.send_all(token, payloads.sendall(message.audience, mass))
        return await self._tag_send(call, token, mass)

    async def _pay(self, call: work.Call, token: str, content: dict[str, Any]) -> dict[str, Any]:
        """A red pack or coupon through the payment API, keyed by the merchant's request
        number of this delivery: a retry of it can never pay twice."""
        account, item = call.account, call.items[0]
        if not account.mch_id:
            raise wx.WeChatError(NO_MERCHANT, "the account has no WeChat Pay merchant id")
        key = work.pay_key(account.id, item.id, item.send_key)
        if call.channel == Channel.RED_PACK:
            payload = payloads.red_pack(
                content,
                billno=key,
                mch_id=account.mch_id,
                app_id=account.app_id,
                account_id=account.id,
                openid=item.openid,
            )
            return await self.client.send_redpack(token, payload)
        payload = payloads.coupon(
            content, trade_no=key, mch_id=account.mch_id, app_id=account.app_id, openid=item.openid
        )
        return await self.client.send_coupon(token, payload)

    async def _tag_send(self, call: work.Call, token: str, mass: dict[str, Any]) -> dict[str, Any]:
        """One recipient by mass message: a one-member tag, sendall to it, delete the tag."""
        item = call.items[0]
        name = f"wxgate-{item.id}"  # tag names are at most 30 characters
        try:
            tag_id = await self.client.create_tag(token, name)
        except wx.WeChatError as exc:
            if exc.errcode != TAG_NAME_EXISTS:
                raise
            # Left over by an earlier try of this delivery (a crash or a lost answer).
            tag_id = await self._find_tag(token, name)
        try:
            await self.client.tag_members(token, tag_id, [item.openid or ""])
            payload = payloads.tag_sendall(tag_id, mass)
            return await self.client.send_all(token, payload)
        finally:
            try:
                await self.client.delete_tag(token, tag_id)
            except (wx.WeChatError, wx.TransportError) as exc:
                log.warning(
                    "one-member tag not deleted: %s",
                    exc,
                    extra={"action": "tag_delete_failed", "account_id": call.account.id},
                )

    async def _find_tag(self, token: str, name: str) -> int:
        answer = await self.client.call(TAGS_GET_PATH, token, {})
        for tag in answer.get("tags", []):
            if tag.get("name") == name:
                return int(tag["id"])
        raise wx.WeChatError(TAG_NAME_EXISTS, f"tag {name} exists but is not listed", answer)
