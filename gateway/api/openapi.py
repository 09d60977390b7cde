"""`GET /api/openapi.json`: the OpenAPI 3.1 document of every /api/v1 route, generated from
the pydantic models that validate the requests and shape the answers (no auth needed)."""

from __future__ import annotations

import functools
from typing import Any

import pydantic
import pydantic.json_schema
from aiohttp import web

from gateway.api import (
    errors,
    models,
    openapi_menus,
    openapi_ops,
    openapi_render,
    openapi_replies,
    openapi_syncs,
    openapi_webhooks,
)
from gateway.api.models import accounts, events, followers, messages, payments, qrcodes, tokens

Model = openapi_ops.Model
REF = "#/components/schemas/{model}"

_AUTH_TEXT = (
    "Authentication: `Authorization: Bearer <token>`, either the administrator's token "
    "(WXGATE_API_TOKEN) or a scoped token made with POST /api/v1/tokens. A scoped token "
    "reaches only its accounts (any other answers 404 not_found, as a missing account does) "
    "and only its scopes (403 forbidden otherwise): read allows GETs; send adds messages, QR "
    "codes, webhook replays and delivery retries; manage adds every other change (account "
    "settings and creation, endpoints, reply rules, menus, syncs, tags). /api/v1/tokens and "
    "/api/v1/audit are the administrator's only. "
)


Operation = openapi_ops.Operation

_ACC = "/api/v1/accounts"
OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        _ACC,
        "createAccount",
        "Create an account; returns its OAuth signing key once",
        {201: ("created", accounts.CreatedAccount)},
        (409,),
        accounts.NewAccount,
    ),
    Operation(
        "get",
        _ACC,
        "listAccounts",
        "List accounts (keyset pages by id)",
        {200: ("a page", accounts.AccountPage)},
        (422,),
        query=models.PageQuery,
    ),
    Operation(
        "get",
        _ACC + "/{id}",
        "getAccount",
        "An account (never its secrets)",
        {200: ("the account", accounts.Account)},
        (404,),
    ),
    Operation(
        "patch",
        _ACC + "/{id}",
        "updateAccount",
        "Rotate secrets or keys, change profile or hosts, upgrade to service "
        "(409 downgrade_not_allowed for service -> subscription), set WeChat Pay settings "
        "(`pay`, service accounts only: 403 otherwise)",
        {200: ("the account", accounts.UpdatedAccount)},
        (403, 404, 409),
        accounts.AccountChange,
    ),
    Operation(
        "get",
        _ACC + "/{id}/followers",
        "listFollowers",
        "Followers by window state (keyset pages by openid)",
        {200: ("a page", followers.FollowerPage)},
        (404, 422),
        query=followers.FollowerQuery,
    ),
    Operation(
        "get",
        _ACC + "/{id}/followers/{openid}",
        "getFollower",
        "A follower's state, window and mass quota",
        {200: ("the follower", followers.Follower)},
        (404,),
    ),
    Operation(
        "post",
        _ACC + "/{id}/messages",
        "createMessage",
        "Queue a message (202); a repeated idempotency key returns the original (200) "
        "or 409 idempotency_conflict",
        {202: ("queued", messages.Message), 200: ("the original message", messages.Message)},
        (403, 404, 409),
        messages.NewMessage,
        headers=("Idempotency-Key",),
    ),
    Operation(
        "get",
        _ACC + "/{id}/messages",
        "listMessages",
        "Messages, newest first",
        {200: ("a page", messages.MessagePage)},
        (404, 422),
        query=messages.MessageQuery,
    ),
    Operation(
        "get",
        _ACC + "/{id}/messages/{message_id}",
        "getMessage",
        "A message with its per-recipient counts and history",
        {200: ("the message", messages.Message)},
        (404,),
    ),
    Operation(
        "get",
        _ACC + "/{id}/messages/{message_id}/recipients/{openid}",
        "getRecipient",
        "One recipient's status in a message: its batch's (a service `all` mass) or its "
        "delivery's (also a follower held for the next month, mass_quota_exhausted); 404 if "
        "not a recipient",
        {200: ("the recipient", messages.Recipient)},
        (404,),
    ),
    Operation(
        "delete",
        _ACC + "/{id}/messages/{message_id}",
        "cancelMessage",
        "Cancel what is not yet sent (409 conflict if already terminal)",
        {200: ("the message", messages.Message)},
        (404, 409),
    ),
    Operation(
        "post",
        _ACC + "/{id}/messages/{message_id}/retry",
        "retryMessage",
        "Send a failed message again as a new send (202), also one that failed "
        "`outcome_unknown` (an earlier attempt may have arrived); 409 conflict unless failed",
        {202: ("queued again", messages.Message)},
        (404, 409),
    ),
    Operation(
        "post",
        _ACC + "/{id}/qrcodes",
        "createQrCode",
        "Create a parametric QR code (service accounts; 409 qr_permanent_limit_reached)",
        {201: ("created", qrcodes.QrCode), 200: ("the existing permanent code", qrcodes.QrCode)},
        (403, 404, 409, 502),
        qrcodes.NewQrCode,
    ),
    Operation(
        "get",
        _ACC + "/{id}/payments",
        "listPayments",
        "Payments WeChat Pay notified, newest first (service accounts)",
        {200: ("a page", payments.PaymentPage)},
        (403, 404, 422),
        query=payments.PaymentQuery,
    ),
    Operation(
        "post",
        _ACC + "/{id}/events",
        "createEvent",
        "Create a marketing event with its check-in QR code (service accounts)",
        {201: ("created", events.Event)},
        (403, 404, 502),
        events.NewEvent,
    ),
    Operation(
        "get",
        _ACC + "/{id}/events/{event_id}",
        "getEvent",
        "An event with its numbers: registered, checked in, reminders sent, surveys answered",
        {200: ("the event", events.Event)},
        (404,),
    ),
    *openapi_syncs.OPERATIONS,
    *openapi_menus.OPERATIONS,
    *openapi_webhooks.OPERATIONS,
    *openapi_replies.OPERATIONS,
    Operation(
        "post",
        "/api/v1/tokens",
        "createToken",
        "Create a scoped API token (administrator only); its text is in this answer only",
        {201: ("created", tokens.CreatedToken)},
        (),
        tokens.NewToken,
    ),
    Operation(
        "get",
        "/api/v1/tokens",
        "listTokens",
        "List the scoped tokens, revoked ones included, never their text (administrator only)",
        {200: ("a page", tokens.TokenPage)},
        (422,),
        query=models.PageQuery,
    ),
    Operation(
        "delete",
        "/api/v1/tokens/{token_id}",
        "revokeToken",
        "Revoke a token at once, and end its console sessions (administrator only)",
        {200: ("the revoked token", tokens.Token)},
        (404,),
    ),
    Operation(
        "get",
        "/api/v1/audit",
        "listAudit",
        "Every change made through the API or the console, newest first (administrator only)",
        {200: ("a page", tokens.AuditPage)},
        (422,),
        query=tokens.AuditQuery,
    ),
)


@functools.cache
def document() -> dict[str, Any]:
    """The whole document; built once per process."""
    wanted: set[tuple[Model, str]] = {(models.ErrorResponse, "serialization")}
    for op in OPERATIONS:
        wanted.update((model, "serialization") for _, model in op.ok.values())
        if op.body is not None:
            wanted.add((op.body, "validation"))
    keyed = sorted(wanted, key=lambda item: (item[0].__name__, item[1]))
    refs, defs = pydantic.json_schema.models_json_schema(
        [(model, mode) for model, mode in keyed],  # type: ignore[misc]
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = openapi_render.operation(op, refs)  # type: ignore[arg-type]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wxgate internal API",
            "version": "1",
            "description": _AUTH_TEXT
            + 'Errors: {"error": {"code", "message", "details"}}. Codes: '
            + ", ".join(f"{code} {status}" for code, status in errors.STATUS.items()),
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(document())
