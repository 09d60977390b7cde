"""Stateless calls to the WeChat API: one method per endpoint the product uses.

Every answer with a non-zero `errcode` raises WeChatError; transport failures (timeouts,
resets, HTTP 5xx) raise TransportError. Callers decide what is retryable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from gateway import errors, metrics

# The platform itself; settings.wechat_api_base points elsewhere (the mock) when set.
REAL_API_BASE = "https://api.weixin.qq.com"
RETRYABLE_ERRCODES = frozenset({-1, 45009, 45011})
# The payment API (red packs, coupons): the real paths, in the JSON dialect of the rest of the
# API (access token; the mock platform implements it), not the merchant-certificate XML one.
REDPACK_PATH = "/mmpaymkttransfers/sendredpack"
COUPON_PATH = "/mmpaymkttransfers/send_coupon"
STALE_TOKEN_ERRCODES = frozenset({40001, 42001, 40014})
# Real UTF-8, never \uXXXX escapes: WeChat answers 40033 to those. One encoder for every call
# (json.dumps with options builds one per call).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_JSON_HEADERS = {"Content-Type": "application/json"}


class WeChatError(errors.WxgateError):
    """WeChat answered with an errcode."""

    def __init__(self, errcode: int, errmsg: str, payload: dict[str, Any] | None = None) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.payload = payload or {}


class TransportError(errors.WxgateError):
    """No usable answer: timeout, reset, or HTTP status outside 2xx."""


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int


# Counter children by (path, errcode): `labels()` validates and locks on every call.
_CALLS: dict[tuple[str, str], Any] = {}


def _count_call(path: str, errcode: str) -> None:
    """wxgate_wechat_calls_total: every call, by path and errcode (0, WeChat's, transport)."""
    counter = _CALLS.get((path, errcode))
    if counter is None:
        counter = _CALLS[(path, errcode)] = metrics.WECHAT_CALLS.labels(path=path, errcode=errcode)
    counter.inc()


class WeChatClient:
    """Bound to one API base (the real one, or the mock) and one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, api_base: str, timeout: float = 10.0):
        self.session = session
        self.api_base = api_base.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._urls: dict[tuple[str, str], URL] = {}

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        url: URL | None = None,
    ) -> dict[str, Any]:
        try:
            answer = await self._answer(method, path, params=params, body=body, url=url)
        except WeChatError as exc:
            _count_call(path, str(exc.errcode))
            raise
        except TransportError:
            _count_call(path, "transport")
            raise
        _count_call(path, "0")
        return answer

    async def _answer(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None,
        body: dict[str, Any] | None,
        url: URL | None,
    ) -> dict[str, Any]:
        data = None if body is None else _ENCODE(body).encode()
        try:
            async with self.session.request(
                method,
                url or self.api_base + path,
                params=params,
                data=data,
                headers=_JSON_HEADERS if data is not None else None,
                timeout=self.timeout,
            ) as resp:
                if resp.status >= 300:
                    raise TransportError(f"HTTP {resp.status} from {path}")
                raw = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError(f"{type(exc).__name__} calling {path}") from exc
        try:
            answer = json.loads(raw)  # bytes: UTF-8 (or -16/-32) detected, errors are ValueError
        except ValueError as exc:
            raise TransportError(f"invalid JSON from {path}") from exc
        if not isinstance(answer, dict):
            raise TransportError(f"unexpected answer from {path}")
        errcode = int(answer.get("errcode", 0) or 0)
        if errcode != 0:
            raise WeChatError(errcode, str(answer.get("errmsg", "")), answer)
        return answer

    async def call(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST an authenticated JSON API (`?access_token=`)."""
        return await self._request("POST", path, url=self._url(path, token), body=body)

    def _url(self, path: str, token: str) -> URL:
        """The URL of an authenticated call, built once per path and token: building the
        query is a noticeable share of a send's CPU at thousands of sends a second."""
        url = self._urls.get((path, token))
        if url is None:
            if len(self._urls) >= 256:  # tokens rotate: never grow without bound
                self._urls.clear()
            url = URL(self.api_base + path).with_query(access_token=token)
            self._urls[(path, token)] = url
        return url

    async def stable_token(self, app_id: str, secret: str, force: bool = False) -> Token:
        answer = await self._request(
            "POST",
            "/cgi-bin/stable_token",
            body={
                "grant_type": "client_credential",
                "appid": app_id,
                "secret": secret,
                "force_refresh": force,
            },
        )
        return Token(str(answer["access_token"]), int(answer.get("expires_in", 7200)))

    async def send_custom(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.call("/cgi-bin/message/custom/send", token, payload)

    async def send_template(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.call("/cgi-bin/message/template/send", token, payload)

    async def send_mass(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.call("/cgi-bin/message/mass/send", token, payload)

    async def send_all(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.call("/cgi-bin/message/mass/sendall", token, payload)

    async def send_redpack(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A cash red pack; `mch_billno` makes a repeated call a no-op that answers again."""
        return await self.call(REDPACK_PATH, token, payload)

    async def send_coupon(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A coupon from a stock; `partner_trade_no` makes a repeated call a no-op."""
        return await self.call(COUPON_PATH, token, payload)

    async def create_tag(self, token: str, name: str) -> int:
        answer = await self.call("/cgi-bin/tags/create", token, {"tag": {"name": name}})
        return int(answer["tag"]["id"])

    async def delete_tag(self, token: str, tag_id: int) -> None:
        await self.call("/cgi-bin/tags/delete", token, {"tag": {"id": tag_id}})

    async def tag_members(self, token: str, tag_id: int, openids: list[str]) -> None:
        body = {"openid_list": openids, "tagid": tag_id}
        await self.call("/cgi-bin/tags/members/batchtagging", token, body)

    async def untag_members(self, token: str, tag_id: int, openids: list[str]) -> None:
        body = {"openid_list": openids, "tagid": tag_id}
        await self.call("/cgi-bin/tags/members/batchuntagging", token, body)

    async def list_tags(self, token: str) -> list[dict[str, Any]]:
        answer = await self.call("/cgi-bin/tags/get", token, {})
        return list(answer.get("tags", []))

    async def list_followers(self, token: str, next_openid: str) -> dict[str, Any]:
        """One `user/get` page: up to 10,000 openids after `next_openid` ("" = the start)."""
        params = {"access_token": token, "next_openid": next_openid}
        return await self._request("GET", "/cgi-bin/user/get", params=params)

    async def batchget_users(self, token: str, openids: list[str]) -> list[dict[str, Any]]:
        """Profiles of up to 100 followers (`user/info/batchget`)."""
        body = {"user_list": [{"openid": o, "lang": "zh_CN"} for o in openids]}
        answer = await self.call("/cgi-bin/user/info/batchget", token, body)
        return list(answer.get("user_info_list", []))

    async def create_menu(self, token: str, menu: dict[str, Any]) -> None:
        """Replace the account's custom menu (`{"button": [...]}`)."""
        await self.call("/cgi-bin/menu/create", token, menu)

    async def delete_menu(self, token: str) -> None:
        """Remove the account's custom menu (a GET, as on the platform)."""
        params = {"access_token": token}
        await self._request("GET", "/cgi-bin/menu/delete", params=params)

    async def create_qrcode(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.call("/cgi-bin/qrcode/create", token, payload)

    async def oauth_access_token(self, app_id: str, secret: str, code: str) -> dict[str, Any]:
        params = {
            "appid": app_id,
            "secret": secret,
            "code": code,
            "grant_type": "authorization_code",
        }
        return await self._request("GET", "/sns/oauth2/access_token", params=params)

    async def oauth_userinfo(self, access_token: str, openid: str) -> dict[str, Any]:
        params = {"access_token": access_token, "openid": openid, "lang": "zh_CN"}
        return await self._request("GET", "/sns/userinfo", params=params)
