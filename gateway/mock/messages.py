"""Customer-service and template messages: `/cgi-bin/message/custom/send`, `.../template/send`."""

from __future__ import annotations

import logging
from datetime import timedelta

from gateway.mock import calls, errors, events, jobs, payloads, window

log = logging.getLogger(__name__)

CUSTOM_PATH = "/cgi-bin/message/custom/send"
TEMPLATE_PATH = "/cgi-bin/message/template/send"
TEMPLATE_DEDUPE = timedelta(minutes=10)


async def custom_send(call: calls.Call) -> calls.Outcome:
    """Both kinds may send inside the follower's window; outside it, or unsubscribed, 45015."""
    openid = payloads.openid(call.body)
    payloads.content(call.body, payloads.CUSTOM_TYPES)
    follower = call.account.followers.get(openid)
    if follower is None:
        raise errors.ApiError(45015)
    refused = window.refusal(follower, call.account.rule_profile, call.now)
    if refused is not None:
        raise errors.ApiError(refused)
    window.consume(follower, call.account.rule_profile, call.now)
    log.info(
        "custom message accepted",
        extra={"action": "mock_custom_send", "app_id": call.account.app_id},
    )
    return calls.Outcome(calls.ok())


def _template_fields(call: calls.Call) -> tuple[str, str | None]:
    openid = payloads.openid(call.body)
    template_id = call.body.get("template_id")
    if not isinstance(template_id, str) or not template_id:
        raise errors.ApiError(40037)
    data = call.body.get("data", {})
    if not isinstance(data, dict):
        raise errors.ApiError(47001, "data must be an object")
    for key, item in data.items():
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise errors.ApiError(47003, f"data.{key}.value invalid")
    client_msg_id = call.body.get("client_msg_id")
    if client_msg_id is not None and (not isinstance(client_msg_id, str) or not client_msg_id):
        raise errors.ApiError(47001, "client_msg_id must be a non-empty string")
    return openid, client_msg_id


async def template_send(call: calls.Call) -> calls.Outcome:
    """Service accounts only (48001); the follower must be subscribed (43004), not in a window.

    The same (touser, client_msg_id) within 10 minutes answers the original msgid again and
    sends nothing.
    """
    calls.require_kind(call.account, "service")
    openid, client_msg_id = _template_fields(call)
    follower = call.account.followers.get(openid)
    if follower is None or not follower.subscribed:
        raise errors.ApiError(43004)
    sends = call.account.template_sends
    if client_msg_id is not None:
        earlier = sends.get((openid, client_msg_id))
        if earlier is not None and call.now - earlier[1] < TEMPLATE_DEDUPE:
            verdict = f"duplicate: client_msg_id {client_msg_id} already sent as msgid {earlier[0]}"
            return calls.Outcome(calls.ok(msgid=earlier[0]), verdict, delivered=False)
    msgid = call.mock.message_id()
    if client_msg_id is not None:
        sends[(openid, client_msg_id)] = (msgid, call.now)
    account = call.account
    jobs.push_later(
        call.request.app,
        account,
        openid,
        lambda create_time: events.template_finish(account, openid, create_time, msgid),
    )
    log.info("template accepted", extra={"action": "mock_template_send", "app_id": account.app_id})
    return calls.Outcome(calls.ok(msgid=msgid))
