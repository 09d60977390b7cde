"""Mass messages: `/cgi-bin/message/mass/send` (openid list) and `.../mass/sendall`."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from gateway.mock import calls, errors, events, jobs, payloads, quota

log = logging.getLogger(__name__)

SEND_PATH = "/cgi-bin/message/mass/send"
SENDALL_PATH = "/cgi-bin/message/mass/sendall"
CLIENTMSGID_WINDOW = timedelta(hours=24)
CLIENTMSGID_MAX_BYTES = 64
LIST_MIN, LIST_MAX = 2, 10_000


def client_msg_id(call: calls.Call, audience: Any, content: dict[str, Any]) -> str:
    """The caller's clientmsgid (45067 if over 64 bytes) or, as the platform does, a digest
    of the audience and content; 45065 with the earlier msg_id if seen within 24 hours."""
    given = call.body.get("clientmsgid")
    if given is not None and not isinstance(given, str):
        raise errors.ApiError(47001, "clientmsgid must be a string")
    if given:
        if len(given.encode()) > CLIENTMSGID_MAX_BYTES:
            raise errors.ApiError(45067)
        key = given
    else:
        canonical = json.dumps([audience, content], sort_keys=True, ensure_ascii=False)
        key = "digest:" + hashlib.sha256(canonical.encode()).hexdigest()
    earlier = call.account.mass_jobs.get(key)
    if earlier is not None and call.now - earlier[1] < CLIENTMSGID_WINDOW:
        raise errors.ApiError(45065, extra={"msg_id": earlier[0]})
    return key


def _submit(call: calls.Call, key: str, recipients: quota.Audience, verdict: str) -> calls.Outcome:
    account = call.account
    msg_id = call.mock.mass_msg_id()
    account.mass_jobs[key] = (msg_id, call.now)
    quota.consume(account, recipients, call.now)
    total, sent = recipients.total, len(recipients.eligible)
    jobs.push_later(
        call.request.app,
        account,
        events.MASS_SENDER,
        lambda create_time: events.mass_finish(account, create_time, msg_id, total, sent),
    )
    log.info("mass job accepted", extra={"action": "mock_mass_send", "app_id": account.app_id})
    answer = {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id}
    return calls.Outcome(answer, verdict)


async def send(call: calls.Call) -> calls.Outcome:
    """By openid list: service accounts only; 2 to 10,000 openids (40032)."""
    calls.require_kind(call.account, "service")
    touser = call.body.get("touser")
    if not isinstance(touser, list) or not all(isinstance(o, str) and o for o in touser):
        raise errors.ApiError(47001, "touser must be a list of openids")
    if not LIST_MIN <= len(touser) <= LIST_MAX:
        raise errors.ApiError(40032)
    content = payloads.content(call.body, payloads.MASS_TYPES)
    key = client_msg_id(call, sorted(set(touser)), content)
    recipients = quota.audience(call.account, touser, call.now, call.config.quota_tz)
    return _submit(call, key, recipients, recipients.violation() or "ok")


def _filter(call: calls.Call) -> tuple[bool, int | None]:
    spec = call.body.get("filter")
    if not isinstance(spec, dict):
        raise errors.ApiError(47001, "filter is required")
    to_all = spec.get("is_to_all", False)
    if not isinstance(to_all, bool):
        raise errors.ApiError(47001, "filter.is_to_all must be a boolean")
    if to_all:
        return True, None
    tag_id = spec.get("tag_id")
    if isinstance(tag_id, str) and tag_id.isdigit():
        tag_id = int(tag_id)
    if not isinstance(tag_id, int) or isinstance(tag_id, bool):
        raise errors.ApiError(47001, "filter.tag_id is required unless is_to_all")
    if tag_id not in call.account.tags:
        raise errors.ApiError(45159)
    return False, tag_id


async def sendall(call: calls.Call) -> calls.Outcome:
    """To all followers or a tag. Subscription: one success a day; service: to-all at most
    4 a month and 1 a day (45028), and every recipient at most 4 a month (filtered)."""
    to_all, tag_id = _filter(call)
    content = payloads.content(call.body, payloads.MASS_TYPES)
    key = client_msg_id(call, {"is_to_all": to_all, "tag_id": tag_id}, content)
    tz = call.config.quota_tz
    if quota.account_exhausted(call.account, to_all, call.now, tz):
        raise errors.ApiError(45028)
    if to_all:
        members = [o for o, f in call.account.followers.items() if f.subscribed]
    else:
        members = sorted(call.account.tags[tag_id or 0].members)
    recipients = quota.audience(call.account, members, call.now, tz)
    call.account.sendall_log.append((call.now, to_all))
    # Sending to everyone or to a tag is filtered by the platform as a matter of course: a
    # tag's members over quota are skipped. A tag mass that reaches none of its members (the
    # gateway's one-member tags) is the caller sending what no one receives.
    reached_none = bool(members) and not recipients.eligible
    verdict = "ok" if to_all or not reached_none else recipients.violation() or "ok"
    return _submit(call, key, recipients, verdict)
