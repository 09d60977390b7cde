"""Where webhooks may go: the destination check at endpoint creation and, at send time, a
resolver that refuses private addresses (a name that resolved to a public address when the
endpoint was created may resolve to 127.0.0.1 later: DNS rebinding)."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import aiohttp.abc
import aiohttp.resolver

from gateway.domain import webhook_rules

RESOLVE_TIMEOUT = 2.0


class RefusedDestination(OSError):
    """The destination resolves to an address webhooks must not reach."""


class GuardedResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver, minus forbidden addresses; none left is a connection error."""

    def __init__(self) -> None:
        self._inner = aiohttp.resolver.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [r for r in found if webhook_rules.forbidden_address(r["host"]) is None]
        if not allowed:
            reason = webhook_rules.forbidden_address(found[0]["host"]) if found else "no address"
            raise RefusedDestination(f"refused destination {host}: {reason}")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def connector(allow_private: bool, limit: int) -> aiohttp.TCPConnector:
    """The worker's connector: guarded unless private destinations are allowed."""
    if allow_private:
        return aiohttp.TCPConnector(limit=limit)
    return aiohttp.TCPConnector(limit=limit, resolver=GuardedResolver())


def literal_refusal(url: str, allow_private: bool) -> str | None:
    """Why an IP-literal destination is refused (aiohttp does not resolve literals)."""
    if allow_private:
        return None
    host = webhook_rules.check_url(url).hostname or ""
    ip = webhook_rules.literal_address(host)
    return None if ip is None else webhook_rules.forbidden_address(str(ip))


async def check_destination(url: str, allow_private: bool) -> str | None:
    """Why `url` may not be an endpoint (None: it may). A name that does not resolve now is
    accepted: the send-time resolver checks it again on every connection."""
    if allow_private:
        return None
    refusal = literal_refusal(url, allow_private)
    host = webhook_rules.check_url(url).hostname or ""
    if refusal is not None or webhook_rules.literal_address(host) is not None:
        return refusal
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return None
    for info in infos:
        refusal = webhook_rules.forbidden_address(str(info[4][0]))
        if refusal is not None:
            return refusal
    return None
