from __future__ import annotations

from collections.abc import Awaitable, Callable

import pydantic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway import settings as settings_mod
from gateway.api import app as app_mod

API_TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def settings(db_url: str) -> settings_mod.Settings:
    return settings_mod.Settings(
        database_url=db_url,
        api_token=pydantic.SecretStr(API_TOKEN),
        public_url="http://gateway.test",
    )


@pytest.fixture
async def client(
    settings: settings_mod.Settings, aiohttp_client: ClientFactory
) -> TestClient[web.Request, web.Application]:
    # settings (and so the database) first: torn down last, after the app closed its pool.
    return await aiohttp_client(app_mod.create_app(settings))
