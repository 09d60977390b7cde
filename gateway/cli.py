"""The `wxgate` command: run, serve, worker, migrate, mock-wechat, simulate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
from collections.abc import Sequence

import pydantic
from aiohttp import web

from gateway import logs
from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.store import embedded, migrate

log = logging.getLogger("gateway")


class CommandError(Exception):
    """A one-line failure shown to the user without a traceback."""


def _require_database(settings: settings_mod.Settings) -> str:
    if not settings.database_url:
        raise CommandError(
            "WXGATE_DATABASE_URL is not set "
            "(wxgate serve and worker never start an embedded database)"
        )
    return settings.database_url


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


def cmd_run(settings: settings_mod.Settings, args: argparse.Namespace) -> None:
    """Everything in one process: embedded Postgres unless a URL is given, migrations, HTTP."""
    pg = None
    overrides: dict[str, object] = {}
    if not settings.database_url:
        pg = embedded.EmbeddedPostgres(settings.data_dir)
        overrides["database_url"] = pg.start()
    if settings.api_token is None:
        overrides["api_token"] = pydantic.SecretStr(secrets.token_urlsafe(24))
    try:
        settings = settings.model_copy(update=overrides)
        assert settings.database_url
        asyncio.run(migrate.migrate_url(settings.database_url, settings.sql_dir))
        app = app_mod.create_app(settings)
        base = f"http://{settings.host}:{settings.port}"
        token = settings.api_token.get_secret_value() if settings.api_token else ""
        banner = [
            "wxgate is running",
            f"  gateway:   {base}   (/healthz, /readyz)",
            "  database:  "
            + (f"embedded Postgres under {settings.data_dir}" if pg else "WXGATE_DATABASE_URL"),
        ]
        if "api_token" in overrides:
            banner.append(f"  API token: {token}   (generated; set WXGATE_API_TOKEN to choose one)")
        print("\n".join(banner), flush=True)
        web.run_app(app, host=settings.host, port=settings.port, print=None)
    finally:
        if pg is not None:
            pg.stop()


COMMANDS = {
    "run": (cmd_run, "everything in one process (embedded Postgres and mock WeChat by default)"),
    "serve": (cmd_serve, "the HTTP server (needs WXGATE_DATABASE_URL)"),
    "migrate": (cmd_migrate, "apply the SQL migrations (needs WXGATE_DATABASE_URL)"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="wxgate", description="A gateway for WeChat Official Accounts."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
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
