"""`wxgate run`: everything in one process for trying the product on one machine.

The HTTP app, the release worker in the same event loop, an embedded Postgres unless
WXGATE_DATABASE_URL is set, and the mock WeChat platform under /mock-wechat with the embedded
database (or `--mock`) when WXGATE_WECHAT_API_BASE is unset. Every account the gateway knows
is registered with the embedded mock (at start, and when created or changed through the API),
with the gateway's callback URL, so follower actions in the mock reach the gateway as signed
callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.api import keys
from gateway.mock import app as mock_app
from gateway.mock import control as mock_control
from gateway.mock import keys as mock_keys
from gateway.mock import pay as mock_pay
from gateway.mock import schemas as mock_schemas
from gateway.store import accounts as accounts_store
from gateway.store import payments as payments_store
from scheduler import lifecycle

log = logging.getLogger(__name__)

MOCK_PREFIX = "/mock-wechat"
# The mock takes openid lists of up to 10,000 (about 310 KB): more than the 64 KiB callbacks get.
MOCK_MAX_BODY = 4 * 1024 * 1024

DEMO_ACCOUNTS = (
    {"id": "demo-service", "kind": "service", "app_id": "wx00000000000000d1"},
    {"id": "demo-subscription", "kind": "subscription", "app_id": "wx00000000000000d2"},
)
DEMO_FOLLOWER = "o123"
DEMO_MCH_ID = "1900000109"  # the merchant id of WeChat Pay's documentation examples


@web.middleware
async def _mock_body_limit(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith(MOCK_PREFIX + "/"):
        request = request.clone(client_max_size=MOCK_MAX_BODY)
    response: web.StreamResponse = await handler(request)
    return response


def _register(
    mock: web.Application, settings: settings_mod.Settings, row: accounts_store.Account
) -> None:
    """Tell the embedded mock about an account, with the gateway's callback URL."""
    body = mock_schemas.AccountIn(
        app_id=row.app_id,
        app_secret=row.app_secret,
        kind=row.kind,
        token=row.token,
        encoding_aes_key=row.encoding_aes_key,
        original_id=row.original_id,
        callback_url=f"{settings.public_base()}/wechat/{row.id}",
        rule_profile=row.rule_profile,
        pay_notify_url=f"{settings.public_base()}/wechat/{row.id}/pay/notify",
        mch_id=row.pay_mch_id,
        apiv3_key=row.pay_apiv3_key,
    )
    mock_control.register_account(mock[mock_keys.STATE], body)


async def _demo_pay(
    app: web.Application, mock: web.Application, row: accounts_store.Account
) -> accounts_store.Account:
    """The demo service account receives payments from the embedded mock: its merchant id,
    an APIv3 key, and the mock platform's certificate (new at every start: the mock makes a
    fresh key pair each time, so the certificate is set again, the old one kept as previous)."""
    if row.id != DEMO_ACCOUNTS[0]["id"] or row.kind != "service":
        return row
    found = mock_pay.platform(mock[mock_keys.STATE], dt.datetime.now(dt.UTC))
    if row.pay_cert_serial == found.serial:
        return row
    return await payments_store.set_pay_config(
        app[keys.POOL],
        row.id,
        mch_id=row.pay_mch_id or DEMO_MCH_ID,
        apiv3_key=row.pay_apiv3_key or secrets.token_hex(16),
        cert_pem=found.pem,
        cert_serial=found.serial,
    )


async def _demo_accounts(app: web.Application) -> list[accounts_store.Account]:
    """The demo service and subscription accounts when the database has no account yet."""
    db = app[keys.POOL]
    rows = await accounts_store.list_accounts(db, None, 1000)
    if rows:
        return rows
    for demo in DEMO_ACCOUNTS:
        await accounts_store.create_account(
            db, **demo, app_secret=secrets.token_hex(16), token=secrets.token_hex(8)
        )
    return await accounts_store.list_accounts(db, None, 1000)


def build(settings: settings_mod.Settings, *, with_mock: bool) -> web.Application:
    app = app_mod.create_app(settings)
    if not with_mock:
        return app
    mock = mock_app.create_mock_app()
    app.middlewares.append(_mock_body_limit)
    app.add_subapp(MOCK_PREFIX, mock)

    async def mirror(row: accounts_store.Account) -> None:
        _register(mock, settings, row)

    app[keys.ACCOUNT_CREATED_HOOKS].append(mirror)
    app[keys.ACCOUNT_CHANGED_HOOKS].append(mirror)

    async def accounts_ctx(app: web.Application) -> AsyncIterator[None]:
        for row in await _demo_accounts(app):
            _register(mock, settings, await _demo_pay(app, mock, row))
        yield

    app.cleanup_ctx.append(accounts_ctx)
    return app


def banner(
    settings: settings_mod.Settings, *, token_generated: bool, embedded_db: bool, with_mock: bool
) -> str:
    base = settings.public_base()
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    lines = [
        "wxgate is running",
        f"  gateway:      {base}   (callbacks at {base}/wechat/<account_id>)",
        f"  internal API: {base}/api/v1   (OpenAPI: {base}/api/openapi.json)",
        f"  console:      {base}/console/   (sign in with the API token)",
        "  database:     "
        + (
            f"embedded Postgres under {settings.data_dir}" if embedded_db else "WXGATE_DATABASE_URL"
        ),
    ]
    if with_mock and not embedded_db:
        lines.append(
            f"  mock WeChat:  {base}{MOCK_PREFIX}   (--mock: nothing is sent to WeChat, and its"
            " unauthenticated /_mock routes can change this database's callback URLs)"
        )
    elif with_mock:
        lines.append(f"  mock WeChat:  {base}{MOCK_PREFIX}   (WXGATE_WECHAT_API_BASE is unset)")
    lines.append(
        f"  API token:    {token}"
        + ("   (generated; set WXGATE_API_TOKEN to choose one)" if token_generated else "")
    )
    if with_mock:
        service = DEMO_ACCOUNTS[0]["app_id"]
        lines += [
            "",
            "Try it (a follower scans a QR code, then a customer-service message goes out):",
            f"  curl -s -X POST {base}{MOCK_PREFIX}/_mock/accounts/{service}/followers/"
            f"{DEMO_FOLLOWER}/actions -H 'Content-Type: application/json'"
            ' -d \'{"action": "scan", "scene": "spring-fair"}\'',
            f"  curl -s -X POST {base}/api/v1/accounts/demo-service/messages"
            f" -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json'"
            f' -d \'{{"type": "customer_service", "to": "{DEMO_FOLLOWER}",'
            ' "content": {"msgtype": "text", "text": {"content": "Welcome!"}}}\'',
            f"  curl -s {base}{MOCK_PREFIX}/_mock/accounts/{service}/sent",
        ]
    return "\n".join(lines)


async def serve(settings: settings_mod.Settings, *, with_mock: bool, banner_text: str) -> None:
    """Serve until SIGINT/SIGTERM; the worker starts once the port listens (it calls the mock
    through it) and stops, releasing its leases, before the HTTP server does."""
    # The handlers first: a Ctrl-C that comes once the port listens, while the worker is
    # still starting, is a clean stop too (not a KeyboardInterrupt through the start-up).
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = build(settings, with_mock=with_mock)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    handle = None
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        handle = await lifecycle.start_worker(settings, app[keys.POOL])
        print(banner_text, flush=True)
        await stop.wait()
    finally:
        if handle is not None:
            with contextlib.suppress(Exception):
                await handle.stop()
        await runner.cleanup()
