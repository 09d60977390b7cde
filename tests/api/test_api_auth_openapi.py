"""Bearer authentication on every /api/v1 route, and the OpenAPI document that lists them."""

from __future__ import annotations

import re

import pydantic
import pytest

from gateway import settings as settings_mod
from gateway.api import app as app_mod
from gateway.api import auth, openapi
from tests.api import apihelp
from tests.api.apihelp import Client
from tests.api.conftest import AUTH, ClientFactory

OPS = [(op.method, op.path) for op in openapi.OPERATIONS]


def concrete(path: str) -> str:
    return path.replace("{id}", "acme").replace("{openid}", "o-1").replace("{message_id}", "1")


BAD_HEADERS = [
    None,
    "Bearer wrong-token",
    "Bearer test-token-and-more",
    "Basic dGVzdC10b2tlbg==",
    "test-token",
    "Bearer ",
    "Bearer t\u00e9st",
]


@pytest.mark.parametrize(("method", "path"), OPS)
async def test_every_route_needs_the_token(client: Client, method: str, path: str) -> None:
    for header in BAD_HEADERS:
        headers = {} if header is None else {"Authorization": header}
        resp = await client.request(method, concrete(path), json={}, headers=headers)
        err = await apihelp.error(resp, 401, "unauthorized")
        assert err["details"] is None
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_scheme_is_case_insensitive(client: Client) -> None:
    resp = await client.get("/api/v1/accounts", headers={"Authorization": "bearer test-token"})
    assert resp.status == 200


async def test_unknown_api_paths_do_not_reveal_themselves(client: Client) -> None:
    await apihelp.error(await client.get("/api/v1/nothing"), 401, "unauthorized")
    await apihelp.error(await client.get("/api/v1/nothing", headers=AUTH), 404, "not_found")
    resp = await client.put("/api/v1/accounts", headers=AUTH)
    assert resp.status == 405


async def test_no_configured_token_locks_the_api(
    settings: settings_mod.Settings, aiohttp_client: ClientFactory
) -> None:
    client = await aiohttp_client(
        app_mod.create_app(settings.model_copy(update={"api_token": None}))
    )
    await apihelp.error(await client.get("/api/v1/accounts", headers=AUTH), 401, "unauthorized")
    other = settings.model_copy(update={"api_token": pydantic.SecretStr("")})
    client = await aiohttp_client(app_mod.create_app(other))
    resp = await client.get("/api/v1/accounts", headers={"Authorization": "Bearer "})
    await apihelp.error(resp, 401, "unauthorized")


def test_authorized_compares_whole_tokens() -> None:
    assert auth.authorized("Bearer abc", "abc")
    assert auth.authorized("BEARER  abc ", "abc")
    assert not auth.authorized("Bearer ab", "abc")
    assert not auth.authorized("Bearer abcd", "abc")
    assert not auth.authorized("Bearer \ud800", "abc")
    assert not auth.authorized(None, "abc")
    assert not auth.authorized("Bearer abc", None)


async def test_openapi_needs_no_auth_and_covers_every_route(client: Client) -> None:
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]
    documented = {(m, p) for p, item in doc["paths"].items() for m in item}
    routed = {
        (route.method.lower(), route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1")
        and route.method != "HEAD"
    }
    assert documented == routed


async def test_openapi_operations_are_complete(client: Client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            assert "401" in responses
            for status, response in responses.items():
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.removeprefix("#/components/schemas/") in schemas
                if int(status) >= 400:
                    assert ref.endswith("/ErrorResponse")
            names = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path))
            # Actions on a resource (rotate a secret, retry a delivery or a message) take no body.
            if method == "post" and path.endswith(("/rotate", "/retry")):
                assert "requestBody" not in op
            elif method in ("post", "patch"):
                assert op["requestBody"]["required"] is True
                assert {"400", "408", "413", "422"} <= set(responses)
    msg = schemas["NewMessage"]
    assert msg["discriminator"]["propertyName"] == "type"
    assert schemas["NewAccount"]["additionalProperties"] is False
    queries = {
        p["name"] for p in doc["paths"]["/api/v1/accounts/{id}/followers"]["get"]["parameters"]
    }
    assert queries == {"id", "window", "limit", "cursor"}
    assert "app_secret" not in schemas["Account"]["properties"]
