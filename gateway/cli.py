"""The `wxgate` command: run, serve, worker, migrate, mock-wechat, simulate, sync-followers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import secrets
import sys
from collections.abc import Sequence

import pydantic
from aiohttp import web

from gateway import errors, logs
from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.store import embedded, migrate
from gateway.wechat import client as wx

log = logging.getLogger("gateway")


class CommandError(errors.WxgateError):
    """A one-line failure shown to the user without a traceback."""


def _require_database(settings: settings_mod.Settings) -> str:
    if not settings.database_url:
        raise CommandError(
            "WXGATE_DATABASE_URL is not set "
            "(wxgate serve and worker never start an embedded database)"
        )
    return settings.database_url


def new_api_token() -> str:
    """An API token for `wxgate run` to print when WXGATE_API_TOKEN is unset: 192 bits in hex,
    so it never starts with "-" (read as a flag by shells and CLIs) and needs no quoting."""
    return secrets.token_hex(24)


async def _check_reachable(dsn: str) -> None:
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=5)
    except Exception as exc:
        raise CommandError(f"database unreachable: {type(exc).__name__}: {exc}") from None
    await conn.close()


def cmd_migrate(settings: settings_mod.Settings, args: argparse.Namespace) -> None:
    dsn = _require_database(settings)
    try:
        applied = asyncio.run(migrate.migrate_url(dsn, settings.sql_dir))
    except migrate.MigrationError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"database unreachable: {exc}") from None
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


def _fast_loop() -> None:
    """uvloop where it is installed (Linux, macOS): about 10% more callbacks per second."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def cmd_serve(settings: settings_mod.Settings, args: argparse.Namespace) -> None:
    dsn = _require_database(settings)
    asyncio.run(_check_reachable(dsn))
    _fast_loop()
    web.run_app(
        app_mod.create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
    )


def _with_mock(settings: settings_mod.Settings, *, embedded_db: bool, forced: bool) -> bool:
    """Whether `wxgate run` mounts the mock WeChat: with the embedded database, or when asked
    (--mock). Never silently in front of a configured database: its accounts are real, and
    sends to the mock would be reported `sent` without reaching WeChat."""
    if settings.wechat_api_base:
        if forced:
            raise CommandError(
                "--mock and WXGATE_WECHAT_API_BASE exclude each other (the mock is the API base)"
            )
        return False
    if forced or embedded_db:
        return True
    raise CommandError(
        "WXGATE_WECHAT_API_BASE is not set: with WXGATE_DATABASE_URL, wxgate run needs it "
        "(https://api.weixin.qq.com), or --mock to put the mock WeChat in front of that database"
    )


def cmd_run(settings: settings_mod.Settings, args: argparse.Namespace) -> None:
    """Everything in one process: embedded Postgres unless configured; the mock WeChat with
    the embedded database or --mock."""
    from gateway import run

    with_mock = _with_mock(settings, embedded_db=not settings.database_url, forced=args.mock)
    pg = None
    overrides: dict[str, object] = {}
    if not settings.database_url:
        pg = embedded.EmbeddedPostgres(settings.data_dir)
        try:
            overrides["database_url"] = pg.start()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
    # For trying things locally: webhooks may go to `wxgate listen` on 127.0.0.1.
    overrides["webhook_allow_private"] = True
    token_generated = settings.api_token is None
    if token_generated:
        overrides["api_token"] = pydantic.SecretStr(new_api_token())
    if with_mock:
        local = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        overrides["wechat_api_base"] = f"http://{local}:{settings.port}{run.MOCK_PREFIX}"
        # The browser follows OAuth redirects, so the mock's authorize page is on the public URL.
        overrides["wechat_oauth_base"] = settings.wechat_oauth_base or (
            f"{settings.public_base()}{run.MOCK_PREFIX}"
        )
    try:
        settings = settings.model_copy(update=overrides)
        assert settings.database_url
        asyncio.run(migrate.migrate_url(settings.database_url, settings.sql_dir))
        text = run.banner(
            settings,
            token_generated=token_generated,
            embedded_db=pg is not None,
            with_mock=with_mock,
        )
        _fast_loop()
        asyncio.run(run.serve(settings, with_mock=with_mock, banner_text=text))
    finally:
        if pg is not None:
            pg.stop()


def cmd_worker(settings: settings_mod.Settings, args: argparse.Namespace) -> None:
    from scheduler import lifecycle

    dsn = _require_database(settings)
    if not settings.wechat_api_base:
        settings = settings.model_copy(update={"wechat_api_base": wx.REAL_API_BASE})
    asyncio.run(_check_reachable(dsn))
    _fast_loop()
    asyncio.run(lifecycle.run_worker(settings))


def cmd_mock_wechat(settings: settings_mod.Settings, args: argparse.Namespace) -> None:
    from gateway.mock import main as mock_main

    print(f"mock WeChat platform on http://{settings.host}:{settings.port}", flush=True)
    mock_main.run_mock(settings.host, settings.port)


def cmd_simulate(settings: settings_mod.Settings, args: argparse.Namespace) -> None:
    from gateway import simulate

    base = (args.url or f"http://{settings.host}:{settings.port}").rstrip("/")
    try:
        if args.direct:
            result = simulate.direct(args, base)
        else:
            token = args.api_token or (
                settings.api_token.get_secret_value() if settings.api_token else ""
            )
            if not token:
                raise CommandError("set WXGATE_API_TOKEN or --api-token (printed by wxgate run)")
            result = simulate.via_mock(args, base, token)
    except simulate.SimulateError as exc:
        raise CommandError(str(exc)) from None
    print(json.dumps(result, ensure_ascii=False, indent=2))


def cmd_sync_followers(settings: settings_mod.Settings, args: argparse.Namespace) -> None:
    from gateway import sync_cli

    token = settings.api_token.get_secret_value() if settings.api_token else ""
    try:
        sync = sync_cli.run(args.url, token, args.account)
    except sync_cli.SyncError as exc:
        raise CommandError(str(exc)) from None
    print(
        f"follower sync {sync['id']} completed: {sync['followers_seen']} followers,"
        f" {sync['pages']} pages"
    )


def cmd_listen(settings: settings_mod.Settings, args: argparse.Namespace) -> None:
    from gateway import listen
    from gateway.domain import webhook_sign

    try:
        webhook_sign.key(args.secret)
    except webhook_sign.InvalidSecret as exc:
        raise CommandError(str(exc)) from None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(listen.serve(args.port, args.secret, max_events=args.max_events))


COMMANDS = {
    "run": (cmd_run, "everything in one process (embedded Postgres and mock WeChat by default)"),
    "serve": (cmd_serve, "the HTTP server (needs WXGATE_DATABASE_URL)"),
    "worker": (cmd_worker, "the release scheduler (needs WXGATE_DATABASE_URL)"),
    "migrate": (cmd_migrate, "apply the SQL migrations (needs WXGATE_DATABASE_URL)"),
    "mock-wechat": (cmd_mock_wechat, "the mock WeChat platform alone, on WXGATE_HOST:PORT"),
    "simulate": (cmd_simulate, "drive a follower: subscribe, scan, text, click, ..."),
    "sync-followers": (cmd_sync_followers, "sync an account's followers from WeChat"),
    "listen": (cmd_listen, "a local webhook receiver: verifies signatures, prints each event"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="wxgate", description="A gateway for WeChat Official Accounts."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        if name == "run":
            command.add_argument(
                "--mock",
                action="store_true",
                help="mount the mock WeChat also with WXGATE_DATABASE_URL set "
                "(it is mounted by default only with the embedded database)",
            )
        if name == "listen":
            command.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
            command.add_argument("--secret", required=True, help="the endpoint's whsec_ secret")
            command.add_argument(
                "--max-events", type=int, default=None, help="exit after this many events"
            )
        if name == "simulate":
            from gateway import simulate

            simulate.add_arguments(command)
        if name == "sync-followers":
            command.add_argument("account", help="the account id")
            command.add_argument("--url", default="http://127.0.0.1:8080", help="the gateway")
    args = parser.parse_args(argv)
    try:
        settings = settings_mod.load()
        logs.configure(settings.log_format, settings.log_level)
        COMMANDS[args.command][0](settings, args)
    except (settings_mod.SettingsError, CommandError) as exc:
        print(f"wxgate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
