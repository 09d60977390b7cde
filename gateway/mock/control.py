"""The mock's control and inspection API under `/_mock` (accounts, sent log, faults).

Shapes: `GET /_mock/accounts/{app_id}/sent` -> {"sent": [{"path", "body", "errcode",
"verdict", "at", "delivered"}]}; `GET .../callbacks` -> {"callbacks": [...]} (every push, with
its delivery outcome); `GET /_mock/faults` -> {"faults": [...]}.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from gateway.mock import errors, faults, keys, schemas, state, tokens

log = logging.getLogger(__name__)


def account_of(request: web.Request) -> state.Account:
    account = request.app[keys.STATE].accounts.get(request.match_info["app_id"])
    if account is None:
        raise errors.control(404, "not_found", "no such account registered with the mock")
    return account


def account_view(account: state.Account) -> dict[str, Any]:
    """Everything but the secrets (app secret, token, AES key)."""
    return {
        "app_id": account.app_id,
        "kind": account.kind,
        "original_id": account.original_id,
        "callback_url": account.callback_url,
        "rule_profile": account.rule_profile,
        "encrypted": account.encoding_aes_key is not None,
        "pay_notify_url": account.pay_notify_url,
        "mch_id": account.mch_id,
        "pay_configured": account.pay_notify_url is not None and account.apiv3_key is not None,
        "token_fetches": dict(account.token_fetches),
        "oauth_exchanges": account.oauth_exchanges,
        "followers": len(account.followers),
        "tags": len(account.tags),
        "sent": len(account.sent),
        "callbacks": len(account.callbacks),
    }


def _refuse_downgrade(account: state.Account, kind: str | None) -> None:
    if account.kind == "service" and kind == "subscription":
        raise errors.control(409, "downgrade_not_allowed", "a service account stays one")


async def register(request: web.Request) -> web.Response:
    """Register an account; registering the same app_id again updates its record."""
    body = await schemas.parse(request, schemas.AccountIn)
    account = register_account(request.app[keys.STATE], body)
    return web.json_response(account_view(account), status=201)


def register_account(mock: state.MockState, body: schemas.AccountIn) -> state.Account:
    """Create or update an account record (also used in-process by `wxgate run`)."""
    account = mock.accounts.get(body.app_id)
    original_id = body.original_id or state.default_original_id(body.app_id)
    if account is None:
        account = state.Account(
            body.app_id, body.app_secret, body.kind, body.token, body.callback_url, original_id
        )
        mock.accounts[body.app_id] = account
    _refuse_downgrade(account, body.kind)
    account.app_secret, account.kind, account.token = body.app_secret, body.kind, body.token
    account.callback_url, account.original_id = body.callback_url, original_id
    account.encoding_aes_key, account.rule_profile = body.encoding_aes_key, body.rule_profile
    account.pay_notify_url, account.mch_id = body.pay_notify_url, body.mch_id
    account.apiv3_key = body.apiv3_key
    log.info("account registered", extra={"action": "mock_register", "app_id": body.app_id})
    return account


async def list_accounts(request: web.Request) -> web.Response:
    accounts = request.app[keys.STATE].accounts.values()
    return web.json_response({"accounts": [account_view(a) for a in accounts]})


async def show_account(request: web.Request) -> web.Response:
    return web.json_response(account_view(account_of(request)))


async def patch_account(request: web.Request) -> web.Response:
    """Upgrade the kind, rotate keys, move the callback URL, change the rule profile."""
    account = account_of(request)
    patch = await schemas.parse(request, schemas.AccountPatch)
    given = patch.model_fields_set
    _refuse_downgrade(account, patch.kind)
    if patch.kind is not None:
        account.kind = patch.kind
    if patch.app_secret is not None:
        account.app_secret = patch.app_secret
    if patch.token is not None:
        account.token = patch.token
    if "encoding_aes_key" in given:
        account.encoding_aes_key = patch.encoding_aes_key
    if patch.original_id is not None:
        account.original_id = patch.original_id
    if patch.callback_url is not None:
        account.callback_url = patch.callback_url
    if patch.rule_profile is not None:
        account.rule_profile = patch.rule_profile
    if patch.pay_notify_url is not None:
        account.pay_notify_url = patch.pay_notify_url
    if patch.mch_id is not None:
        account.mch_id = patch.mch_id
    if patch.apiv3_key is not None:
        account.apiv3_key = patch.apiv3_key
    return web.json_response(account_view(account))


def _sent_view(record: state.SentRecord) -> dict[str, Any]:
    return {
        "path": record.path,
        "body": record.body,
        "errcode": record.errcode,
        "verdict": record.verdict,
        "at": record.at.isoformat(),
        "delivered": record.delivered,
    }


async def sent(request: web.Request) -> web.Response:
    return web.json_response({"sent": [_sent_view(r) for r in account_of(request).sent]})


async def clear_sent(request: web.Request) -> web.Response:
    account_of(request).sent.clear()
    return web.json_response({"cleared": True})


async def callbacks(request: web.Request) -> web.Response:
    return web.json_response({"callbacks": account_of(request).callbacks})


async def clear_callbacks(request: web.Request) -> web.Response:
    account_of(request).callbacks.clear()
    return web.json_response({"cleared": True})


async def invalidate_tokens(request: web.Request) -> web.Response:
    """Make the account's current tokens stale: calls with them get 40001."""
    count = tokens.invalidate(request.app[keys.STATE], account_of(request))
    return web.json_response({"invalidated": count})


async def add_fault(request: web.Request) -> web.Response:
    body = await schemas.parse(request, schemas.FaultIn)
    fault = state.Fault(
        path=body.path,
        rate=body.rate,
        errcode=body.errcode,
        latency_ms=body.latency_ms,
        drop=body.drop,
        http_status=body.http_status,
        count=body.count,
    )
    request.app[keys.STATE].faults.append(fault)
    return web.json_response(faults.view(fault), status=201)


async def list_faults(request: web.Request) -> web.Response:
    return web.json_response({"faults": [faults.view(f) for f in request.app[keys.STATE].faults]})


async def clear_faults(request: web.Request) -> web.Response:
    request.app[keys.STATE].faults.clear()
    return web.json_response({"cleared": True})
