"""The aiohttp application factory: resources in cleanup contexts, every route in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from gateway import settings as settings_mod
from gateway import webhook_net
from gateway.api import (
    account_cache,
    accounts,
    api_tokens,
    audit,
    auth,
    callbacks,
    errors,
    event_pages,
    events,
    follower_syncs,
    followers,
    health,
    keys,
    menus,
    messages,
    metrics_route,
    oauth,
    openapi,
    payments,
    paynotify,
    qrcodes,
    replies,
    tags,
    webhook_log,
    webhooks,
)
from gateway.console import routes as console_routes
from gateway.console import session as console_session
from gateway.store import group_commit
from gateway.store import pool as pool_mod
from gateway.wechat import client as wechat_client


async def _pool_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    assert settings.database_url, "create_app needs a database URL"
    app[keys.POOL] = await pool_mod.create(settings.database_url, size=settings.pool_size)
    yield
    await app[keys.POOL].close()


async def _ingest_ctx(app: web.Application) -> AsyncIterator[None]:
    """The callback path's account cache and group-commit writer."""
    settings = app[keys.SETTINGS]
    app[keys.ACCOUNT_CACHE] = account_cache.AccountCache(
        app[keys.POOL], load_timeout=settings.callback_db_timeout
    )
    committer = group_commit.GroupCommitter(
        app[keys.POOL], statement_timeout=settings.callback_db_timeout + 1
    )
    committer.start()
    app[keys.GROUP_COMMIT] = committer
    yield
    await committer.stop()


async def _wechat_ctx(app: web.Application) -> AsyncIterator[None]:
    """One outbound session for every call to WeChat (QR codes, OAuth)."""
    settings = app[keys.SETTINGS]
    async with aiohttp.ClientSession() as session:
        app[keys.WECHAT] = wechat_client.WeChatClient(
            session, settings.wechat_api_base or wechat_client.REAL_API_BASE
        )
        yield


async def _reply_http_ctx(app: web.Application) -> AsyncIterator[None]:
    """One session for every call to a reply endpoint, guarded like the webhook worker's."""
    connector = webhook_net.connector(app[keys.SETTINGS].webhook_allow_private, limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        app[keys.REPLY_HTTP] = session
        yield


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/wechat/{account_id}", callbacks.verify_server)
    app.router.add_post("/wechat/{account_id}", callbacks.receive)
    app.router.add_get("/oauth/{account_id}/authorize", oauth.authorize)
    app.router.add_get("/oauth/{account_id}/callback", oauth.callback)
    app.router.add_post("/wechat/{account_id}/pay/notify", paynotify.notify)
    app.router.add_get("/events/{account_id}/{event_id}/register", event_pages.register)
    app.router.add_get("/events/{account_id}/{event_id}/survey", event_pages.survey)
    app.router.add_post("/events/{account_id}/{event_id}/survey", event_pages.submit_survey)
    app.router.add_get("/metrics", metrics_route.metrics_handler)
    app.router.add_get("/api/openapi.json", openapi.openapi_json)
    # The internal API (SPEC 3); auth.middleware guards every /api/v1 path.
    app.router.add_post("/api/v1/accounts", accounts.create_account)
    app.router.add_get("/api/v1/accounts", accounts.list_accounts)
    app.router.add_get("/api/v1/accounts/{id}", accounts.get_account)
    app.router.add_patch("/api/v1/accounts/{id}", accounts.update_account)
    app.router.add_get("/api/v1/accounts/{id}/followers", followers.list_followers)
    app.router.add_post("/api/v1/accounts/{id}/followers/sync", follower_syncs.start_sync)
    app.router.add_get("/api/v1/accounts/{id}/followers/sync/{sync_id}", follower_syncs.get_sync)
    app.router.add_get("/api/v1/accounts/{id}/followers/{openid}", followers.get_follower)
    app.router.add_post("/api/v1/accounts/{id}/messages", messages.create_message)
    app.router.add_get("/api/v1/accounts/{id}/messages", messages.list_messages)
    app.router.add_get("/api/v1/accounts/{id}/messages/{message_id}", messages.get_message)
    app.router.add_delete("/api/v1/accounts/{id}/messages/{message_id}", messages.cancel_message)
    app.router.add_get(
        "/api/v1/accounts/{id}/messages/{message_id}/recipients/{openid}", messages.get_recipient
    )
    app.router.add_post("/api/v1/accounts/{id}/messages/{message_id}/retry", messages.retry_message)
    app.router.add_post("/api/v1/accounts/{id}/qrcodes", qrcodes.create_qrcode)
    menu = "/api/v1/accounts/{id}/menu"
    app.router.add_put(menu, menus.put_menu)
    app.router.add_get(menu, menus.get_menu)
    app.router.add_delete(menu, menus.delete_menu)
    app.router.add_get("/api/v1/accounts/{id}/tags", tags.list_tags)
    app.router.add_post("/api/v1/accounts/{id}/tags", tags.create_tag)
    app.router.add_delete("/api/v1/accounts/{id}/tags/{tag_id}", tags.delete_tag)
    app.router.add_post("/api/v1/accounts/{id}/tags/{tag_id}/members", tags.add_members)
    app.router.add_delete("/api/v1/accounts/{id}/tags/{tag_id}/members", tags.remove_members)
    app.router.add_get("/api/v1/accounts/{id}/payments", payments.list_payments)
    app.router.add_post("/api/v1/accounts/{id}/events", events.create_event)
    app.router.add_get("/api/v1/accounts/{id}/events/{event_id}", events.get_event)
    # Webhooks out (SPEC 7).
    endpoints = "/api/v1/accounts/{id}/endpoints"
    app.router.add_post(endpoints, webhooks.create_endpoint)
    app.router.add_get(endpoints, webhooks.list_endpoints)
    app.router.add_get(endpoints + "/{eid}", webhooks.get_endpoint)
    app.router.add_patch(endpoints + "/{eid}", webhooks.update_endpoint)
    app.router.add_delete(endpoints + "/{eid}", webhooks.delete_endpoint)
    app.router.add_post(endpoints + "/{eid}/secret/rotate", webhooks.rotate_secret)
    app.router.add_get(endpoints + "/{eid}/deliveries", webhook_log.list_deliveries)
    app.router.add_post(endpoints + "/{eid}/deliveries/{did}/retry", webhook_log.retry_delivery)
    app.router.add_post(endpoints + "/{eid}/replay", webhook_log.replay)
    app.router.add_get("/api/v1/accounts/{id}/inbound", webhook_log.list_inbound)
    # Passive replies (SPEC 8).
    app.router.add_put("/api/v1/accounts/{id}/reply-rules", replies.put_rules)
    app.router.add_get("/api/v1/accounts/{id}/reply-rules", replies.get_rules)
    # Scoped tokens and the audit log (SPEC 11), administrator only.
    app.router.add_post("/api/v1/tokens", api_tokens.create_token)
    app.router.add_get("/api/v1/tokens", api_tokens.list_tokens)
    app.router.add_delete("/api/v1/tokens/{token_id}", api_tokens.revoke_token)
    app.router.add_get("/api/v1/audit", audit.list_audit)


def create_app(settings: settings_mod.Settings) -> web.Application:
    app = web.Application(
        client_max_size=callbacks.MAX_BODY,  # callbacks and WeChat Pay notifications
        middlewares=[errors.middleware, auth.middleware, console_session.middleware],
    )
    app[keys.SETTINGS] = settings
    app[keys.ACCOUNT_CREATED_HOOKS] = []
    app[keys.ACCOUNT_CHANGED_HOOKS] = []
    app.cleanup_ctx.append(_pool_ctx)
    app.cleanup_ctx.append(_ingest_ctx)
    app.cleanup_ctx.append(_wechat_ctx)
    app.cleanup_ctx.append(_reply_http_ctx)
    setup_routes(app)
    console_routes.setup(app)
    return app
