"""`/api/v1/accounts/{id}/messages`: enqueue (202), read with history, list, cancel, retry."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from aiohttp import web

from gateway.api import bodies, errors, keys, responses
from gateway.api.models import messages
from gateway.domain import decide, kinds
from gateway.store import accounts as accounts_store
from gateway.store import mass_batches
from gateway.store import messages as store

IDEMPOTENCY_HEADER = "Idempotency-Key"
Body = messages.AnyMessage


def _idempotency_key(request: web.Request, body: Body) -> str | None:
    header = request.headers.get(IDEMPOTENCY_HEADER)
    if header is None:
        return body.idempotency_key
    if not 0 < len(header) <= 255 or not header.isprintable():
        raise errors.ApiError(
            "validation_error",
            "request is invalid",
            [
                {
                    "type": "string_too_long",
                    "loc": ["header", IDEMPOTENCY_HEADER],
                    "msg": "Idempotency-Key must be 1 to 255 printable characters",
                }
            ],
        )
    if body.idempotency_key is not None and body.idempotency_key != header:
        raise errors.ApiError(
            "validation_error",
            "request is invalid",
            [
                {
                    "type": "value_error",
                    "loc": ["header", IDEMPOTENCY_HEADER],
                    "msg": "the header and the body name different idempotency keys",
                }
            ],
        )
    return header


def _request_hash(body: Body) -> str:
    """SHA-256 of the canonical JSON of the validated request, without the key itself."""
    canonical = json.dumps(
        body.model_dump(mode="json", exclude={"idempotency_key"}),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_capability(kind: str, body: Body, expires_at: dt.datetime) -> None:
    audience = body.audience.model_dump() if isinstance(body, messages.MassMessage) else None
    outside = body.outside_window if isinstance(body, messages.CustomerServiceMessage) else "hold"
    message = decide.message_of(body.type, audience, outside, body.not_before, expires_at)
    rejected = decide.check_enqueue(kinds.AccountKind(kind), message)
    if rejected is not None:
        raise errors.ApiError(
            "capability_not_available", rejected.message, {"capability": rejected.capability.value}
        )


def _check_pay_config(account: accounts_store.Account, body: Body) -> None:
    """Red packs and coupons go out through the account's merchant: it must be configured."""
    if (
        isinstance(body, messages.RedPackMessage | messages.CouponMessage)
        and not account.pay_mch_id
    ):
        raise errors.ApiError(
            "conflict",
            "the account has no WeChat Pay merchant id; set pay.mch_id with "
            "PATCH /api/v1/accounts/{id} first",
            {"missing": "pay.mch_id"},
        )


def _new_message(body: Body, key: str | None, expires_at: dt.datetime) -> store.NewMessage:
    recipient = body.to if not isinstance(body, messages.MassMessage) else None
    openids: list[str | None] | None = [recipient]
    audience = content = template = None
    if isinstance(body, messages.MassMessage):
        audience = body.audience.model_dump()
        if isinstance(body.audience, messages.OpenidsAudience):
            openids = list(body.audience.openids)
        elif isinstance(body.audience, messages.AllAudience):
            openids = None  # the store fans out to subscribed followers (service accounts)
        else:
            openids = [None]
    if isinstance(body, messages.TemplateMessage):
        template = body.template.model_dump(mode="json", exclude_none=True)
    elif isinstance(body, messages.RedPackMessage):
        content = {"red_pack": body.red_pack.model_dump(mode="json", exclude_none=True)}
    elif isinstance(body, messages.CouponMessage):
        content = {"coupon": body.coupon.model_dump(mode="json", exclude_none=True)}
    else:
        content = body.content.model_dump(mode="json", exclude_none=True)
    return store.NewMessage(
        type=body.type,
        recipient=recipient,
        audience=audience,
        content=content,
        template=template,
        outside_window=body.outside_window
        if isinstance(body, messages.CustomerServiceMessage)
        else "hold",
        not_before=body.not_before,
        expires_at=expires_at,
        idempotency_key=key,
        request_hash=_request_hash(body) if key is not None else None,
        openids=openids,
    )


def _summary_fields(row: store.Listed) -> dict[str, Any]:
    """The MessageSummary fields of a message (`to` and `msgid` name two columns anew)."""
    return {
        "id": row.id,
        "account_id": row.account_id,
        "type": row.type,
        "to": row.recipient,
        "status": row.status,
        "reason": row.reason,
        "release_at": row.release_at,
        "not_before": row.not_before,
        "expires_at": row.expires_at,
        "idempotency_key": row.idempotency_key,
        "attempts": row.attempts,
        "msgid": row.wechat_msgid,
        "errcode": row.errcode,
        "errmsg": row.errmsg,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _resource(row: store.Message) -> messages.Message:
    recipients = None
    if row.type == "mass":
        recipients = messages.RecipientCounts(total=row.recipients_total, **row.counts)
    return messages.Message(
        **_summary_fields(row),
        audience=row.audience,
        content=row.content,
        template=row.template,
        outside_window=row.outside_window,
        recipients=recipients,
        history=[
            messages.Transition(at=h.at, status=h.status, reason=h.reason, detail=h.detail)
            for h in row.history
        ],
    )


async def create_message(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    body = (await bodies.read_json(request, messages.NewMessage)).root
    key = _idempotency_key(request, body)
    pool, settings = request.app[keys.POOL], request.app[keys.SETTINGS]
    now = dt.datetime.now(dt.UTC)
    # Default expiry counts from when the message may first go out, not from now.
    expires_at = body.expires_at or max(now, body.not_before or now) + settings.default_ttl
    account = await accounts_store.get_account(pool, account_id)
    _check_capability(account.kind, body, expires_at)
    _check_pay_config(account, body)
    row, created = await store.enqueue_message(
        pool, account_id, _new_message(body, key, expires_at)
    )
    return responses.ok(_resource(row), status=202 if created else 200)


async def get_message(request: web.Request) -> web.Response:
    account_id, message_id = bodies.account_id(request), bodies.message_id(request)
    row = await store.get_message(request.app[keys.POOL], account_id, message_id)
    return responses.ok(_resource(row))


async def get_recipient(request: web.Request) -> web.Response:
    """One recipient's status in a message (a batched mass keeps no row per recipient)."""
    account_id, message_id = bodies.account_id(request), bodies.message_id(request)
    openid = bodies.openid(request)
    found = await mass_batches.recipient(request.app[keys.POOL], account_id, message_id, openid)
    if found is None:
        raise errors.ApiError("not_found", f"{openid!r} is not a recipient of this message")
    return responses.ok(
        messages.Recipient(
            message_id=message_id,
            openid=openid,
            status=found.status,
            reason=found.reason,
            batch=found.batch,
            msgid=found.wechat_msgid,
            errcode=found.errcode,
            errmsg=found.errmsg,
        )
    )


async def list_messages(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    query = bodies.parse_query(request, messages.MessageQuery)
    before = bodies.int_cursor(query.cursor)
    rows = await store.list_messages(
        request.app[keys.POOL], account_id, query.status, before, query.limit + 1
    )
    items = [messages.MessageSummary(**_summary_fields(r)) for r in rows[: query.limit]]
    next_cursor = bodies.encode_cursor(items[-1].id) if len(rows) > query.limit else None
    return responses.ok(messages.MessagePage(items=items, next_cursor=next_cursor))


async def cancel_message(request: web.Request) -> web.Response:
    account_id, message_id = bodies.account_id(request), bodies.message_id(request)
    row = await store.cancel_message(request.app[keys.POOL], account_id, message_id)
    return responses.ok(_resource(row))


async def retry_message(request: web.Request) -> web.Response:
    account_id, message_id = bodies.account_id(request), bodies.message_id(request)
    row = await store.retry_message(request.app[keys.POOL], account_id, message_id)
    return responses.ok(_resource(row), status=202)
