"""Schemathesis against a live server: every operation of /api/openapi.json, positive and
negative cases plus the document's own examples, must answer without a 5xx, with a status
and a body the document declares."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import aiohttp
import asyncpg
import hypothesis
import pydantic
import pytest
import requests
import schemathesis
from aiohttp import web
from schemathesis import checks
from schemathesis.generation import GenerationMode

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.api import keys, openapi_examples
from gateway.mock import app as mock_app
from gateway.store import accounts as accounts_store
from tests.api.conftest import API_TOKEN

T = TypeVar("T")
log = logging.getLogger(__name__)
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
MAX_EXAMPLES = 25
SEED = 20240501
OPENID = openapi_examples.OPENID  # the document's example follower
SEEDED = {"id": "acme", "openid": OPENID, "message_id": 1}


class LiveServer:
    """The gateway and the mock WeChat platform on free 127.0.0.1 ports, in a thread with its
    own event loop (schemathesis sends blocking `requests` calls)."""

    def __init__(self, settings: settings_mod.Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.runners: list[web.AppRunner] = []
        self.base = ""
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    async def _serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def _start(self) -> None:
        mock_base = await self._serve(mock_app.create_mock_app())
        app = app_mod.create_app(self.settings.model_copy(update={"wechat_api_base": mock_base}))

        async def register(account: accounts_store.Account) -> None:
            body = {k: getattr(account, k) for k in ("app_id", "app_secret", "kind", "token")}
            body["callback_url"] = "http://127.0.0.1:9/wechat/" + account.id
            async with aiohttp.ClientSession() as session:
                await session.post(mock_base + "/_mock/accounts", json=body)

        # As under `wxgate run`: the mock learns every account and every rotated secret (a
        # PATCH case may rotate app_secret before a QR case asks for a token).
        app[keys.ACCOUNT_CREATED_HOOKS].append(register)
        app[keys.ACCOUNT_CHANGED_HOOKS].append(register)
        self.base = await self._serve(app)

    async def _stop(self) -> None:
        for runner in reversed(self.runners):
            await runner.cleanup()

    def start(self) -> None:
        self._thread.start()
        self.run(self._start())

    def stop(self) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def live(db_url: str) -> Iterator[LiveServer]:
    settings = settings_mod.Settings(
        database_url=db_url, api_token=pydantic.SecretStr(API_TOKEN), public_url="http://gw.test"
    )
    server = LiveServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def seed(live: LiveServer) -> None:
    """The resources the document's examples name: accounts, a follower, message 1."""
    for account in (
        {"id": "acme", "kind": "service", "app_id": "wxacme0000000001"},
        {"id": "news", "kind": "subscription", "app_id": "wxnews0000000001"},
    ):
        body = {**account, "app_secret": "s3cret", "token": "tok3n"}
        resp = requests.post(f"{live.base}/api/v1/accounts", json=body, headers=AUTH, timeout=10)
        assert resp.status_code == 201, resp.text

    async def follower() -> None:
        conn = await asyncpg.connect(live.settings.database_url)
        try:
            await conn.execute(
                "INSERT INTO followers (account_id, openid, subscribed, window_ends_at)"
                " VALUES ('acme', $1, true, now() + interval '1 day')",
                OPENID,
            )
        finally:
            await conn.close()

    live.run(follower())
    message: dict[str, Any] = {
        "type": "customer_service",
        "to": OPENID,
        "content": {"msgtype": "text", "text": {"content": "seed"}},
    }
    url = f"{live.base}/api/v1/accounts/acme/messages"
    assert requests.post(url, json=message, headers=AUTH, timeout=10).status_code == 202


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.mark.slow
@pytest.mark.timeout(420)  # 39 operations since the menu routes (281 s with 2 cores shared)
def test_every_operation_conforms(live: LiveServer) -> None:
    seed(live)
    schema = schemathesis.openapi.from_url(f"{live.base}/api/openapi.json")
    operations: list[Any] = [
        result.ok()  # type: ignore[union-attr]
        for result in schema.get_all_operations()
    ]
    assert len(operations) == 42  # with the menu's 3, the reply rules' 2 (SPEC 8), the recipient
    ran: collections.Counter[str] = collections.Counter()
    statuses: collections.Counter[int] = collections.Counter()
    session = requests.Session()

    def call(case: Any, extra: list[Any]) -> None:
        response = case.call(base_url=live.base, headers=AUTH, session=session)
        statuses[response.status_code] += 1
        ran[case.operation.label] += 1
        case.validate_response(response, checks=CHECKS + extra, headers=AUTH)

    settings = hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        print_blob=True,
    )

    def checked(extra: list[Any]) -> Any:
        def test(case: Any) -> None:
            call(case, extra)

        return test

    for operation in operations:
        # The document's own examples first (they name the seeded resources), then
        # generated cases that fit the schema and cases that must be refused.
        for strategy in schema.get_strategies_from_examples(operation):
            example = hypothesis.given(case=strategy)(checked([]))
            hypothesis.settings(settings, max_examples=1)(example)()
        # Random ids mostly find nothing (404); pinned to the seeded resources, generated
        # bodies reach the success paths too.
        pinned = {k: v for k, v in SEEDED.items() if "{" + k + "}" in operation.path}
        runs: list[tuple[GenerationMode, dict[str, Any], list[Any]]] = [
            (GenerationMode.POSITIVE, {}, []),
            (GenerationMode.NEGATIVE, {}, [checks.negative_data_rejection]),
        ]
        if pinned:
            runs.append((GenerationMode.POSITIVE, pinned, []))
        for mode, path_parameters, extra in runs:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
            test = hypothesis.given(case=strategy)(checked(extra))
            hypothesis.seed(SEED)(settings(test))()

    log.info(
        "schemathesis: %d operations, %d cases, statuses %s",
        len(ran),
        sum(ran.values()),
        dict(sorted(statuses.items())),
    )
    assert len(ran) == len(operations)
    assert min(ran.values()) >= 2 * MAX_EXAMPLES
    assert not any(status >= 500 for status in statuses)
