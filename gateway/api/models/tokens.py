"""Scoped API tokens and the audit log (SPEC 11): requests and resources."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pydantic

from gateway.api import models
from gateway.api.models import accounts

Scope = Literal["read", "send", "manage"]
TokenName = Annotated[
    str,
    pydantic.StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,100}$", strip_whitespace=True),
    pydantic.Field(description="a label for people, 1 to 100 printable characters"),
]


class NewToken(models.Request):
    name: TokenName
    accounts: (
        Literal["*"]
        | Annotated[list[accounts.AccountId], pydantic.Field(min_length=1, max_length=1000)]
    )
    scopes: Annotated[list[Scope], pydantic.Field(min_length=1, max_length=3)] = pydantic.Field(
        description="read: GETs; send adds messages, QR codes, replays and retries; manage "
        "adds every other change (settings, endpoints, reply rules, menus, syncs, tags)"
    )


class Token(models.Resource):
    id: int
    name: str
    accounts: Literal["*"] | list[str]
    scopes: list[Scope]
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class CreatedToken(Token):
    token: str = pydantic.Field(description="the bearer token: shown in this response only")


class TokenPage(models.Resource):
    items: list[Token]
    next_cursor: str | None


class AuditQuery(models.PageQuery):
    account_id: accounts.AccountId | None = None
    actor: TokenName | None = pydantic.Field(
        default=None, description="'admin', 'anonymous' or a token's name"
    )
    token_id: Annotated[int, pydantic.Field(ge=1, le=2**63 - 1)] | None = None
    method: Literal["POST", "PUT", "PATCH", "DELETE"] | None = None
    since: models.Instant | None = None
    until: models.Instant | None = None


class AuditEntry(models.Resource):
    id: int
    at: dt.datetime
    actor: str = pydantic.Field(description="'admin', a token's name, or 'anonymous'")
    token_id: int | None
    via: Literal["api", "console"]
    method: str
    route: str
    path: str
    account_id: str | None
    status: int
    remote_addr: str | None
    summary: str | None


class AuditPage(models.Resource):
    items: list[AuditEntry]
    next_cursor: str | None
