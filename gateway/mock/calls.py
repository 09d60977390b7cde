"""The shape every platform API call goes through: faults, token, JSON body, sent log."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from gateway.mock import config, errors, faults, keys, payloads, state, tokens


@dataclasses.dataclass(frozen=True)
class Call:
    """One authenticated API call, as a rule handler sees it."""

    request: web.Request
    mock: state.MockState
    config: config.MockConfig
    account: state.Account
    body: dict[str, Any]
    now: datetime


@dataclasses.dataclass(frozen=True)
class Outcome:
    payload: dict[str, Any]
    verdict: str = "ok"
    delivered: bool = True


Rule = Callable[[Call], Awaitable[Outcome]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def record(
    account: state.Account,
    path: str,
    body: Any,
    errcode: int | None,
    verdict: str,
    at: datetime,
    *,
    delivered: bool,
) -> None:
    account.sent.append(state.SentRecord(path, body, errcode, verdict, at, delivered))


def endpoint(path: str, rule: Rule, *, json_body: bool = True) -> Handler:
    """A platform API handler for `path`, authenticated by `?access_token=`."""

    async def handle(request: web.Request) -> web.StreamResponse:
        mock = request.app[keys.STATE]
        settings = request.app[keys.CONFIG]
        now = settings.now()
        access_token = request.query.get("access_token", "")
        owner = tokens.owner(mock, access_token)
        raw = await request.read() if json_body and request.method == "POST" else b""
        logged = payloads.loggable(raw)
        try:
            injected = await faults.inject(mock, path, request)
            if injected is not None:
                if owner is not None:
                    verdict = f"refused: injected {injected.what}"
                    record(owner, path, logged, None, verdict, now, delivered=False)
                return injected.response
            account = tokens.authenticate(mock, access_token, now)
            body = payloads.parse(raw) if json_body and request.method == "POST" else {}
            outcome = await rule(Call(request, mock, settings, account, body, now))
        except errors.ApiError as error:
            if owner is not None:
                note = " (injected fault)" if error.injected else ""
                verdict = f"refused: {error.errmsg}{note}"
                record(owner, path, logged, error.errcode, verdict, now, delivered=False)
            return errors.response(error)
        errcode = int(outcome.payload.get("errcode", 0))
        record(account, path, logged, errcode, outcome.verdict, now, delivered=outcome.delivered)
        return web.json_response(outcome.payload)

    return handle


def require_kind(account: state.Account, kind: state.Kind) -> None:
    """48001 when the account's kind lacks the API."""
    if account.kind != kind:
        raise errors.ApiError(48001)


def ok(**fields: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **fields}
