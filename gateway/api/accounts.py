"""`/api/v1/accounts`: create, list, get, PATCH. Secrets are never answered, except the OAuth
signing key in the response that generated it."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from gateway import settings as settings_mod
from gateway.api import bodies, keys, models, payconfig, responses
from gateway.api.models import accounts
from gateway.domain import encoding
from gateway.store import accounts as store

log = logging.getLogger(__name__)


def public(row: store.Account, settings: settings_mod.Settings) -> dict[str, Any]:
    """The fields of an account row that may leave the gateway."""
    return {
        "id": row.id,
        "kind": row.kind,
        "app_id": row.app_id,
        "original_id": row.original_id,
        "rule_profile": row.rule_profile,
        "oauth_redirect_hosts": list(row.oauth_redirect_hosts),
        "encoding_mode": row.encoding_mode,
        "has_encoding_aes_key": row.encoding_aes_key is not None,
        "has_previous_aes_key": row.previous_aes_key is not None,
        "has_pay_config": payconfig.complete(row),
        "callback_url": f"{settings.public_base()}/wechat/{row.id}",
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "upgraded_at": row.upgraded_at,
        "followers_synced_at": row.followers_synced_at,
    }


async def _notify(hooks: list[keys.AccountHook], row: store.Account) -> None:
    """Await each observer with the committed row (secrets included)."""
    for hook in hooks:
        try:
            await hook(row)
        except Exception:
            # The change is committed; a failing observer must not turn it into an error.
            log.exception(
                "account hook failed", extra={"action": "account_hook", "account_id": row.id}
            )


def _forget(request: web.Request, account_id: str) -> None:
    # The callback path caches accounts for a few seconds; drop this process's copy now.
    cache = request.app.get(keys.ACCOUNT_CACHE)
    if cache is not None:
        cache.forget(account_id)


def _mode_needs_key(exc: encoding.ModeNeedsKey) -> Exception:
    return bodies.invalid(["encoding_mode"], str(exc), "encoding_mode")


async def create_account(request: web.Request) -> web.Response:
    body = await bodies.read_json(request, accounts.NewAccount)
    fields = body.model_dump()
    try:
        fields["encoding_mode"] = encoding.resolve_mode(
            None if body.encoding_mode is None else encoding.EncodingMode(body.encoding_mode),
            body.encoding_aes_key is not None,
        ).value
    except encoding.ModeNeedsKey as exc:
        raise _mode_needs_key(exc) from None
    row = await store.create_account(request.app[keys.POOL], **fields)
    _forget(request, row.id)
    await _notify(request.app[keys.ACCOUNT_CREATED_HOOKS], row)
    created = accounts.CreatedAccount(
        **public(row, request.app[keys.SETTINGS]), oauth_signing_key=row.oauth_signing_key
    )
    return responses.ok(created, status=201)


async def list_accounts(request: web.Request) -> web.Response:
    query = bodies.parse_query(request, models.PageQuery)
    after = bodies.text_cursor(query.cursor)
    grant = request[keys.GRANT]
    only = None if grant.all_accounts else sorted(grant.accounts)
    rows = await store.list_accounts(request.app[keys.POOL], after, query.limit + 1, only)
    settings = request.app[keys.SETTINGS]
    items = [accounts.Account(**public(r, settings)) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    next_cursor = bodies.encode_cursor(items[-1].id) if more else None
    return responses.ok(accounts.AccountPage(items=items, next_cursor=next_cursor))


async def get_account(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    row = await store.get_account(request.app[keys.POOL], account_id)
    return responses.ok(accounts.Account(**public(row, request.app[keys.SETTINGS])))


async def update_account(request: web.Request) -> web.Response:
    account_id = bodies.account_id(request)
    body = await bodies.read_json(request, accounts.AccountChange)
    change = store.Change(
        **body.model_dump(exclude={"pay"}),
        given=frozenset(body.model_fields_set & {"encoding_aes_key", "original_id"}),
    )
    if body.pay is not None:
        await payconfig.check(request.app[keys.POOL], account_id, body.kind)
    try:
        row, _ = await store.update_account(request.app[keys.POOL], account_id, change)
    except encoding.ModeNeedsKey as exc:
        raise _mode_needs_key(exc) from None
    if body.pay is not None:
        row = await payconfig.apply(request.app[keys.POOL], account_id, body.pay)
    _forget(request, account_id)
    await _notify(request.app[keys.ACCOUNT_CHANGED_HOOKS], row)
    key = row.oauth_signing_key if body.rotate_oauth_signing_key else None
    updated = accounts.UpdatedAccount(
        **public(row, request.app[keys.SETTINGS]), oauth_signing_key=key
    )
    return responses.ok(updated)
