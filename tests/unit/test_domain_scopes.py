"""The scope each request needs and each grant's verdict (SPEC 11), as tables."""

from __future__ import annotations

import pytest

from gateway.domain import scopes

A = "/api/v1/accounts/{id}"


@pytest.mark.parametrize(
    ("method", "route", "scope"),
    [
        ("GET", "/api/v1/accounts", "read"),
        ("HEAD", A + "/messages", "read"),
        ("GET", A + "/endpoints/{eid}/deliveries", "read"),
        ("POST", "/api/v1/accounts", "manage"),
        ("PATCH", A, "manage"),
        ("POST", A + "/messages", "send"),
        ("DELETE", A + "/messages/{message_id}", "send"),
        ("POST", A + "/qrcodes", "send"),
        ("POST", A + "/endpoints/{eid}/replay", "send"),
        ("POST", A + "/endpoints/{eid}/deliveries/{did}/retry", "send"),
        ("POST", A + "/endpoints", "manage"),
        ("PATCH", A + "/endpoints/{eid}", "manage"),
        ("POST", A + "/endpoints/{eid}/secret/rotate", "manage"),
        ("PUT", A + "/reply-rules", "manage"),
        ("PUT", A + "/menu", "manage"),
        ("DELETE", A + "/menu", "manage"),
        ("POST", A + "/followers/sync", "manage"),
        ("POST", A + "/tags/{tag_id}/members", "manage"),
        ("POST", A + "/events", "manage"),
        ("POST", A + "/retry", "manage"),  # "retry" alone is not a delivery retry
        ("GET", "/api/v1/tokens", "admin"),
        ("DELETE", "/api/v1/tokens/{token_id}", "admin"),
        ("GET", "/api/v1/audit", "admin"),
        ("POST", "/api/v1/other", "manage"),
    ],
)
def test_required_scope(method: str, route: str, scope: str) -> None:
    assert scopes.required_scope(method, route) == scope


ACME_READ = scopes.Grant(
    name="r",
    token_id=1,
    all_accounts=False,
    accounts=frozenset({"acme"}),
    scopes=frozenset({"read"}),
)
ACME_SEND = scopes.Grant(
    name="s",
    token_id=2,
    all_accounts=False,
    accounts=frozenset({"acme"}),
    scopes=frozenset({"send"}),
)
ALL_MANAGE = scopes.Grant(name="m", token_id=3, scopes=frozenset({"manage"}))
V = scopes.Verdict


@pytest.mark.parametrize(
    ("grant", "method", "route", "account", "verdict"),
    [
        (ACME_READ, "GET", A, "acme", V.ALLOWED),
        (ACME_READ, "GET", A, "beta", V.NOT_FOUND),
        (ACME_READ, "POST", A + "/messages", "beta", V.NOT_FOUND),  # 404 before 403
        (ACME_READ, "POST", A + "/messages", "acme", V.FORBIDDEN),
        (ACME_SEND, "POST", A + "/messages", "acme", V.ALLOWED),
        (ACME_SEND, "GET", A + "/messages", "acme", V.ALLOWED),
        (ACME_SEND, "PATCH", A, "acme", V.FORBIDDEN),
        (ACME_SEND, "GET", "/api/v1/accounts", None, V.ALLOWED),
        (ACME_SEND, "POST", "/api/v1/accounts", None, V.FORBIDDEN),
        (ALL_MANAGE, "POST", "/api/v1/accounts", None, V.ALLOWED),
        (ALL_MANAGE, "POST", A + "/messages", "any", V.ALLOWED),
        (ALL_MANAGE, "GET", "/api/v1/audit", None, V.FORBIDDEN),
        (ALL_MANAGE, "POST", "/api/v1/tokens", None, V.FORBIDDEN),
        (scopes.ADMINISTRATOR, "POST", "/api/v1/tokens", None, V.ALLOWED),
        (scopes.ADMINISTRATOR, "DELETE", A + "/menu", "x", V.ALLOWED),
    ],
)
def test_check(
    grant: scopes.Grant, method: str, route: str, account: str | None, verdict: scopes.Verdict
) -> None:
    assert scopes.check(grant, method, route, account) is verdict
