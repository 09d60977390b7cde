"""Reading a request body within a deadline: a client still sending after
`body_read_timeout` seconds holds a connection and a handler (a slow-loris), so it is
answered 408 and disconnected, as callbacks are."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from multidict import MultiDictProxy

from gateway import errors
from gateway.api import keys

log = logging.getLogger(__name__)

T = TypeVar("T")


class TooSlow(errors.WxgateError):
    """The request body did not arrive in time."""


async def _within(request: web.Request, read: Callable[[], Awaitable[T]]) -> T:
    if request.content.is_eof():  # the whole body came with the headers: no timer
        return await read()
    try:
        async with asyncio.timeout(request.app[keys.SETTINGS].body_read_timeout):
            return await read()
    except TimeoutError:
        log.info(
            "request body not received in time",
            extra={"action": "body_read_timeout", "path": request.path},
        )
        raise TooSlow from None


async def read(request: web.Request) -> bytes:
    """The raw body (the request's client_max_size applies); TooSlow past the deadline."""
    return await _within(request, request.read)


async def post(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The form fields; TooSlow past the deadline."""
    return await _within(request, request.post)


async def answer_and_close(request: web.Request, response: web.Response) -> web.Response:
    """Send `response`, then drop the connection at once: its request body never finished,
    so the connection cannot serve another request (and is not left to linger)."""
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response
